using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>The conv block as an op: conv2d + ReLU + 2x2 max-pool (+ dropout), forward and weight gradients.</summary>
internal sealed class IlgpuConvBlock : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Conv2d;
    public override bool IsFusion => true;
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) => ((long)maxBatch * op.Output.Size, 0, 0);

    public override void Forward(IlgpuOp o) =>
        o.Kernels.ConvBlockForward(o.Input, o.Parameter("weight"), o.Parameter("bias"), o.Output, o.Argmax, o.Op.Conv(o.Batch), o.Dropout);

    public override void Backward(IlgpuOp o) =>
        o.Kernels.ConvBlockBackward(o.Input, o.Output, o.Argmax, o.Gradient, o.GradientOf("weight"), o.GradientOf("bias"), o.Op.Conv(o.Batch), o.Dropout);
}
