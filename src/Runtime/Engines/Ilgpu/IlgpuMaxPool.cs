using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuMaxPool : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.MaxPool;
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) => ((long)maxBatch * op.Output.Size, 0, 0);
    public override void Forward(IlgpuOp o) => o.Kernels.PoolForward(o.Input, o.Output, o.Argmax, o.Op.Pooling(o.Batch));
    public override void Backward(IlgpuOp o) => o.Kernels.PoolBackward(o.Gradient, o.Argmax, o.InputGradient!.Value, o.Op.Pooling(o.Batch));
}
