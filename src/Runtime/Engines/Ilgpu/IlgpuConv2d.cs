using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>conv2d (im2col products), and the 2x2 max-pool after it when the op pools.</summary>
internal sealed class IlgpuConv2d : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Conv2d;

    // A pooling conv's full-size output in the forward pass, and its gradient in the backward pass.
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) =>
        op.Pool ? ((long)maxBatch * op.Output.Size, 0, (long)maxBatch * op.Layer.Output.Size) : (0, 0, 0);

    public override void Forward(IlgpuOp o)
    {
        if (!o.Op.Pool)
        {
            o.Kernels.ConvForward(o.Input, o.Parameter("weight"), o.Parameter("bias"), o.Output, o.Op.Conv(o.Batch), relu: false);
            return;
        }
        o.Kernels.ConvForward(o.Input, o.Parameter("weight"), o.Parameter("bias"), o.Scratch, o.Op.Conv(o.Batch), relu: false);
        IlgpuMaxPool.Forward(o.Kernels, o.Scratch, o.Output, o.Argmax, o.Op.Pooling(o.Batch));
    }

    public override void Backward(IlgpuOp o)
    {
        var gradient = o.Gradient;
        if (o.Op.Pool)
        {
            IlgpuMaxPool.Backward(o.Kernels, o.Gradient, o.Argmax, o.Scratch, o.Op.Pooling(o.Batch));
            gradient = o.Scratch;
        }
        o.Kernels.ConvBackward(o.Input, gradient, o.Parameter("weight"), o.GradientOf("weight"), o.GradientOf("bias"), o.InputGradient, o.Op.Conv(o.Batch));
    }
}
