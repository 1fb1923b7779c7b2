namespace FashionGpu.Kernels;

/// <summary>
/// How ReLU and max-pooling treat NaN, the same on every backend and as PyTorch does: NaN goes through. Written with
/// plain comparisons rather than a backend's max instruction, whose NaN handling differs (fmax and max.f32 drop a NaN
/// operand; the CPU accelerator keeps it).
/// </summary>
public static class NanRule
{
    /// <summary>ReLU: 0 for negative x, x otherwise (NaN stays NaN).</summary>
    public static float Relu(float x) => x < 0f ? 0f : x;

    /// <summary>Whether <paramref name="v"/> replaces <paramref name="best"/> in a max: when greater, or when it is the window's first NaN.</summary>
    public static bool Beats(float v, float best) => v > best || (float.IsNaN(v) && !float.IsNaN(best));
}
