using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>dense, with the ReLU after it when the op fuses it.</summary>
internal sealed class IlgpuDense : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Dense;

    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) =>
        (0, 0, op is { Relu: true, Trains: true } ? (long)trainBatch * op.Output.Size : 0);

    public override void Forward(IlgpuOp o) =>
        o.Kernels.DenseForward(o.Input, o.Parameter("weight"), o.Parameter("bias"), o.Output, o.Op.Dense(o.Batch), o.Op.Relu);

    public override void Backward(IlgpuOp o)
    {
        var g = o.Gradient;
        if (o.Op.Relu)
        {
            IlgpuRelu.Backward(o.Kernels, o.BatchOutput, o.BatchGradient, o.Scratch.SubView(0, o.Length));
            g = o.Scratch;
        }
        o.Kernels.DenseBackwardParameters(g, o.Input, o.GradientOf("weight"), o.GradientOf("bias"), o.Op.Dense(o.Batch));
        if (o.InputGradient is { } dx)
            o.Kernels.DenseBackwardInput(g, o.Parameter("weight"), dx, reluMask: null, o.Op.Dense(o.Batch));
    }
}
