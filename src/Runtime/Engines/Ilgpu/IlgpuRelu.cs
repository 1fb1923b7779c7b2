using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuRelu : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Relu;
    public override void Forward(IlgpuOp o) => o.Kernels.ReluForward(o.Input.SubView(0, o.Length), o.BatchOutput);
    public override void Backward(IlgpuOp o) => o.Kernels.ReluBackward(o.BatchOutput, o.BatchGradient, o.InputGradient!.Value);
}
