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

internal sealed class SimdGlobalAvgPoolLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.GlobalAvgPool;
    public override void Forward(SimdOp o) => SimdGlobalAvgPool.Forward(o.Input, o.Output, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);
    public override void Backward(SimdOp o) => SimdGlobalAvgPool.Backward(o.Gradient, o.InputGradient!, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);
}
