using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuGlobalAvgPool : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.GlobalAvgPool;
    public override void Forward(IlgpuOp o) => o.Kernels.GlobalAvgPoolForward(o.Input, o.Output, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);
    public override void Backward(IlgpuOp o) => o.Kernels.GlobalAvgPoolBackward(o.Gradient, o.InputGradient!.Value, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);
}
