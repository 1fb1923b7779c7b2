using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>
/// Batchnorm (<see cref="BatchNormKernels"/>): on the GPU path its per-channel sums are formed per image by one launch
/// and added in a fixed order (in double) by a second; on the CPU path a thread per channel sums in order. A ReLU
/// after it runs as its own launch, in place.
/// </summary>
internal sealed class IlgpuBatchNorm : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.BatchNorm;
    public override (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) =>
        (0, 2L * op.Input.Channels, op is { Relu: true, Trains: true } ? (long)trainBatch * op.Output.Size : 0);

    public override void Forward(IlgpuOp o)
    {
        Forward(o.Kernels, o.Input, o.BatchOutput, o.Parameter("weight"), o.Parameter("bias"), o.Parameter("running_mean"), o.Parameter("running_var"),
            o.Saved, o.Op.Norm(o.Batch), o.Training);
        if (o.Op.Relu)
            IlgpuRelu.Forward(o.Kernels, o.BatchOutput, o.BatchOutput);
    }

    public override void Backward(IlgpuOp o)
    {
        var dy = o.BatchGradient;
        if (o.Op.Relu)
        {
            dy = o.Scratch.SubView(0, o.Length);
            IlgpuRelu.Backward(o.Kernels, o.BatchOutput, o.BatchGradient, dy);
        }
        Backward(o.Kernels, o.Input, dy, o.InputGradient, o.Parameter("weight"), o.Saved, o.GradientOf("weight"), o.GradientOf("bias"), o.Op.Norm(o.Batch));
    }

    /// <summary>
    /// Training takes the batch's statistics (and updates the running ones), inference the running statistics; either
    /// way they are left in <paramref name="saved"/> for backward.
    /// </summary>
    public static void Forward(KernelSet k, ArrayView<float> x, ArrayView<float> y, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saved, BatchNormShape s, bool training)
    {
        if (training && k.GemmPath == GemmPath.Tiled)
        {
            var partials = k.DoublePartials(2L * s.Channels * s.Batch);
            var statisticsPartials = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<double>, BatchNormShape>>(BatchNormKernels.StatisticsPartials);
            var merge = k.Loaded<Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, int>>(BatchNormKernels.MergeStatistics);
            k.Launch("BatchNorm.StatisticsPartials", s.Channels * s.Batch, () => statisticsPartials(s.Channels * s.Batch, x, partials, s));
            k.Launch("BatchNorm.MergeStatistics", s.Channels, () => merge(s.Channels, partials, saved, runningMean, runningVar, s, 1));
        }
        else if (training)
        {
            var statistics = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, int>>(BatchNormKernels.Statistics);
            k.Launch("BatchNorm.Statistics", s.Channels, () => statistics(s.Channels, x, saved, runningMean, runningVar, s, 1));
        }
        else
        {
            var running = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape>>(BatchNormKernels.RunningStatistics);
            k.Launch("BatchNorm.RunningStatistics", s.Channels, () => running(s.Channels, runningMean, runningVar, saved, s));
        }
        var range = k.Range(s.Elements);
        var normalize = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, ElementRange>>(BatchNormKernels.Normalize);
        k.Launch("BatchNorm.Normalize", range.Stride, () => normalize(range.Stride, x, y, weight, bias, saved, s, range));
    }

    /// <summary>The weight and bias gradients, and the input gradient when <paramref name="dx"/> is given.</summary>
    public static void Backward(KernelSet k, ArrayView<float> x, ArrayView<float> dy, ArrayView<float>? dx, ArrayView<float> weight, ArrayView<float> saved,
        ArrayView<float> dWeight, ArrayView<float> dBias, BatchNormShape s)
    {
        if (k.GemmPath == GemmPath.Tiled)
        {
            var partials = k.DoublePartials(2L * s.Channels * s.Batch);
            var gradientPartials = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<double>, BatchNormShape>>(BatchNormKernels.ParameterGradientPartials);
            var sum = k.Loaded<Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, BatchNormShape>>(BatchNormKernels.SumParameterGradients);
            k.Launch("BatchNorm.GradientPartials", s.Channels * s.Batch, () => gradientPartials(s.Channels * s.Batch, x, dy, saved, partials, s));
            k.Launch("BatchNorm.SumGradients", s.Channels, () => sum(s.Channels, partials, dWeight, dBias, s));
        }
        else
        {
            var gradients = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape>>(BatchNormKernels.ParameterGradients);
            k.Launch("BatchNorm.ParameterGradients", s.Channels, () => gradients(s.Channels, x, dy, saved, dWeight, dBias, s));
        }
        if (dx is not { } input)
            return;
        var range = k.Range(s.Elements);
        var backwardInput = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, ElementRange>>(BatchNormKernels.BackwardInput);
        k.Launch("BatchNorm.BackwardInput", range.Stride, () => backwardInput(range.Stride, x, dy, input, weight, saved, dWeight, dBias, s, range));
    }
}
