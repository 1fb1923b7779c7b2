using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Inverted dropout. Element i is kept when <see cref="CounterRng.UniformFloat"/>(key, i) ≥ rate, where the key is
/// derived from (seed, training step) on the host: the mask is never stored, backward recomputes it, and a resumed
/// run draws the same masks.
/// </summary>
public readonly struct DropoutParameters
{
    public DropoutParameters(ulong key, float rate)
    {
        Key = key;
        Rate = rate;
        Scale = rate < 1f ? 1f / (1f - rate) : 0f;
    }

    /// <summary>Dropout that keeps everything: inference.</summary>
    public static DropoutParameters None => new(0, 0f);

    public ulong Key { get; }
    public float Rate { get; }
    public float Scale { get; }

    /// <summary>u ≥ rate keeps; at rate 0 (inference) every element is kept without drawing.</summary>
    public bool Keeps(int element) => Rate <= 0f || CounterRng.UniformFloat(Key, (ulong)element) >= Rate;
}

public static class DropoutKernels
{
    /// <summary>In place: x[i] = kept ? x[i]·scale : 0. Launch: range.Stride threads.</summary>
    public static void Forward(Index1D thread, ArrayView<float> x, DropoutParameters p, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            x[i] = p.Keeps(i) ? x[i] * p.Scale : 0f;
    }

    /// <summary>In place: dy[i] = kept ? dy[i]·scale : 0, with the forward's mask. Launch: range.Stride threads.</summary>
    public static void Backward(Index1D thread, ArrayView<float> dy, DropoutParameters p, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            dy[i] = p.Keeps(i) ? dy[i] * p.Scale : 0f;
    }
}
