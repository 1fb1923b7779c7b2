namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="Kernels.GlobalAvgPoolKernels"/> on the host: x [Planes, Spatial] → y [Planes].</summary>
public static class SimdGlobalAvgPool
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int planes, int spatial)
    {
        for (var p = 0; p < planes; p++)
        {
            var sum = 0f;
            foreach (var v in x.Slice(p * spatial, spatial))
                sum += v;
            y[p] = sum / spatial;
        }
    }

    public static void Backward(ReadOnlySpan<float> dy, Span<float> dx, int planes, int spatial)
    {
        for (var p = 0; p < planes; p++)
            dx.Slice(p * spatial, spatial).Fill(dy[p] / spatial);
    }
}
