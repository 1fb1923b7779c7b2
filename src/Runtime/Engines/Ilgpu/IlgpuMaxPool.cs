using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>2x2 max-pooling (<see cref="MaxPoolKernels"/>), a row strip per thread; also the pool of a pooling conv.</summary>
internal sealed class IlgpuMaxPool : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.MaxPool;
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) => ((long)maxBatch * op.Output.Size, 0, 0);
    public override void Forward(IlgpuOp o) => Forward(o.Kernels, o.Input, o.Output, o.Argmax, o.Op.Pooling(o.Batch));
    public override void Backward(IlgpuOp o) => Backward(o.Kernels, o.Gradient, o.Argmax, o.InputGradient!.Value, o.Op.Pooling(o.Batch));

    public static void Forward(KernelSet k, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolShape s)
    {
        var strips = k.Strips(s.OutWidth);
        var forward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape, RowStrips>>(MaxPoolKernels.Forward);
        k.Launch("MaxPool.Forward", strips.Threads(s.ForwardRows), () => forward(strips.Threads(s.ForwardRows), x, y, argmax, s, strips));
    }

    public static void Backward(KernelSet k, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PoolShape s)
    {
        var strips = k.Strips(s.Width);
        var backward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape, RowStrips>>(MaxPoolKernels.Backward);
        k.Launch("MaxPool.Backward", strips.Threads(s.BackwardRows), () => backward(strips.Threads(s.BackwardRows), dy, argmax, dx, s, strips));
    }
}
