using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="AvgPoolKernels"/> on the host, a plane per task on every core, with the kernels' order of sums: the same bits.</summary>
internal sealed class SimdAvgPool : SimdLayer
{
    public override LayerKind Kind => LayerKinds.AvgPool;

    public override void Forward(SimdOp o)
    {
        var s = o.Op.Pooling(o.Batch);
        var (x, y) = (o.Input, o.Output);
        WorkerTeam.For(s.Batch * s.Channels, o.Parallelism, plane =>
        {
            for (var py = 0; py < s.OutHeight; py++)
            {
                var top = (plane * s.Height + 2 * py) * s.Width;
                var row = (plane * s.OutHeight + py) * s.OutWidth;
                for (var px = 0; px < s.OutWidth; px++)
                {
                    var i = top + 2 * px;
                    y[row + px] = (x[i] + x[i + 1] + x[i + s.Width] + x[i + s.Width + 1]) * 0.25f;
                }
            }
        });
    }

    public override void Backward(SimdOp o)
    {
        var s = o.Op.Pooling(o.Batch);
        var (dy, dx) = (o.Gradient, o.InputGradient!);
        WorkerTeam.For(s.Batch * s.Channels, o.Parallelism, plane =>
        {
            dx.AsSpan(plane * s.Height * s.Width, s.Height * s.Width).Clear();
            for (var py = 0; py < s.OutHeight; py++)
            {
                var top = (plane * s.Height + 2 * py) * s.Width;
                var row = (plane * s.OutHeight + py) * s.OutWidth;
                for (var px = 0; px < s.OutWidth; px++)
                {
                    var g = dy[row + px] * 0.25f;
                    var i = top + 2 * px;
                    (dx[i], dx[i + 1], dx[i + s.Width], dx[i + s.Width + 1]) = (g, g, g, g);
                }
            }
        });
    }
}
