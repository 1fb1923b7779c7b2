using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuAvgPool : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.AvgPool;

    public override void Forward(IlgpuOp o)
    {
        var (s, k) = (o.Op.Pooling(o.Batch), o.Kernels);
        var range = k.Range((long)s.ForwardRows * s.OutWidth);
        var forward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, PoolShape, ElementRange>>(AvgPoolKernels.Forward);
        k.Launch("AvgPool.Forward", range.Stride, () => forward(range.Stride, o.Input, o.Output, s, range));
    }

    public override void Backward(IlgpuOp o)
    {
        var (s, k, dx) = (o.Op.Pooling(o.Batch), o.Kernels, o.InputGradient!.Value);
        var range = k.Range((long)s.BackwardRows * s.Width);
        var backward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, PoolShape, ElementRange>>(AvgPoolKernels.Backward);
        k.Launch("AvgPool.Backward", range.Stride, () => backward(range.Stride, o.Gradient, dx, s, range));
    }
}
