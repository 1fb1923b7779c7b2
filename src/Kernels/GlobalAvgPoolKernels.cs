using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>Global average pooling: x [Batch, Channels, Spatial] → y [Batch, Channels], the mean of each plane.</summary>
public static class GlobalAvgPoolKernels
{
    /// <summary>One thread per plane (n, c): y = Σ x / Spatial in order. Launch: Batch·Channels threads.</summary>
    public static void Forward(Index1D plane, ArrayView<float> x, ArrayView<float> y, int spatial)
    {
        var sum = 0f;
        var b = plane * spatial;
        for (var i = 0; i < spatial; i++)
            sum += x[b + i];
        y[plane] = sum / spatial;
    }

    /// <summary>dx[n, c, s] = dy[n, c] / Spatial. Launch: range.Stride threads over the Batch·Channels·Spatial inputs.</summary>
    public static void Backward(Index1D thread, ArrayView<float> dy, ArrayView<float> dx, int spatial, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            dx[i] = dy[i / spatial] / spatial;
    }
}
