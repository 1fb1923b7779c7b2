using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuBatchNorm : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.BatchNorm;
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) => (0, 2L * op.Input.Channels, 0);

    public override void Forward(IlgpuOp o) =>
        o.Kernels.BatchNormForward(o.Input, o.BatchOutput, o.Parameter("weight"), o.Parameter("bias"), o.Parameter("running_mean"), o.Parameter("running_var"),
            o.Saved, o.Op.Norm(o.Batch), o.Training);

    public override void Backward(IlgpuOp o) =>
        o.Kernels.BatchNormBackward(o.Input, o.BatchGradient, o.InputGradient, o.Parameter("weight"), o.Saved, o.GradientOf("weight"), o.GradientOf("bias"),
            o.Op.Norm(o.Batch));
}
