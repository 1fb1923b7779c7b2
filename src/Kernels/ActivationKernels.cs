using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>ReLU on its own, for activations no producing kernel fuses it into.</summary>
public static class ActivationKernels
{
    /// <summary>y[i] = ReLU(x[i]) by <see cref="NanRule.Relu"/> (NaN stays NaN). Launch: range.Stride threads.</summary>
    public static void ReluForward(Index1D thread, ArrayView<float> x, ArrayView<float> y, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            y[i] = NanRule.Relu(x[i]);
    }

    /// <summary>
    /// dx[i] = y[i] &gt; 0 ? dy[i] : 0, where y is the ReLU's output (dx may be dy: in place). Launch: range.Stride threads.
    /// </summary>
    public static void ReluBackward(Index1D thread, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            dx[i] = y[i] > 0f ? dy[i] : 0f;
    }
}
