using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuLeakyRelu : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.LeakyRelu;

    public override void Forward(IlgpuOp o)
    {
        var (k, slope) = (o.Kernels, o.Op.Layer.Definition.Slope);
        var range = k.Range(o.Length);
        var forward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, float, ElementRange>>(LeakyReluKernels.Forward);
        k.Launch("LeakyRelu.Forward", range.Stride, () => forward(range.Stride, o.Input, o.Output, slope, range));
    }

    public override void Backward(IlgpuOp o)
    {
        var (k, slope, dx) = (o.Kernels, o.Op.Layer.Definition.Slope, o.InputGradient!.Value);
        var range = k.Range(o.Length);
        var backward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, ElementRange>>(LeakyReluKernels.Backward);
        k.Launch("LeakyRelu.Backward", range.Stride, () => backward(range.Stride, o.Output, o.Gradient, dx, slope, range));
    }
}
