using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>Leaky ReLU with a slope in [0, 1): x where x &gt; 0, slope·x elsewhere; NaN stays NaN (slope·NaN).</summary>
public static class LeakyReluKernels
{
    public static float Of(float x, float slope) => x > 0f ? x : slope * x;

    /// <summary>y[i] = <see cref="Of"/>(x[i]). Launch: range.Stride threads.</summary>
    public static void Forward(Index1D thread, ArrayView<float> x, ArrayView<float> y, float slope, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            y[i] = Of(x[i], slope);
    }

    /// <summary>
    /// dx[i] = y[i] &gt; 0 ? dy[i] : slope·dy[i], where y is the layer's output: with a slope of 0 or more, y &gt; 0
    /// exactly where x &gt; 0. Launch: range.Stride threads.
    /// </summary>
    public static void Backward(Index1D thread, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, float slope, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            dx[i] = y[i] > 0f ? dy[i] : slope * dy[i];
    }
}
