using FashionGpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Runtime.Devices;

/// <summary>
/// The kernels of <see cref="FashionGpu.Kernels"/> loaded once for one accelerator, each behind a method that knows
/// its launch size. Element-wise kernels give each thread one element on a GPU and a few thousand on the CPU
/// accelerator, where a simulated thread costs far more than an element's arithmetic.
/// </summary>
public sealed class KernelSet
{
    private const int CpuElementsPerThread = 4096;

    private readonly int _elementsPerThread;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int> _convForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> _convBackwardParameters;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> _convBackwardInput;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape> _poolForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape> _poolBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape, int> _denseForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape> _denseBackwardInput;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape> _denseBackwardWeights;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, DenseShape> _denseBackwardBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ElementRange> _reluBackward;
    private readonly Action<Index1D, ArrayView<float>, DropoutParameters, ElementRange> _dropoutForward;
    private readonly Action<Index1D, ArrayView<float>, DropoutParameters, ElementRange> _dropoutBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, LossShape> _softmaxCrossEntropy;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, LossShape> _argmax;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamParameters, ElementRange> _adam;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<int>, GatherShape> _gather;

    internal KernelSet(ComputeDevice device)
    {
        var a = device.Accelerator;
        _elementsPerThread = device.IsCpu ? CpuElementsPerThread : 1;
        _convForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int>(Conv2DKernels.Forward);
        _convBackwardParameters = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape>(Conv2DKernels.BackwardParameters);
        _convBackwardInput = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape>(Conv2DKernels.BackwardInput);
        _poolForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape>(MaxPoolKernels.Forward);
        _poolBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape>(MaxPoolKernels.Backward);
        _denseForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape, int>(DenseKernels.Forward);
        _denseBackwardInput = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape>(DenseKernels.BackwardInput);
        _denseBackwardWeights = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape>(DenseKernels.BackwardWeights);
        _denseBackwardBias = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, DenseShape>(DenseKernels.BackwardBias);
        _reluBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ElementRange>(ActivationKernels.ReluBackward);
        _dropoutForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, DropoutParameters, ElementRange>(DropoutKernels.Forward);
        _dropoutBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, DropoutParameters, ElementRange>(DropoutKernels.Backward);
        _softmaxCrossEntropy = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, LossShape>(SoftmaxCrossEntropyKernels.ForwardBackward);
        _argmax = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, LossShape>(SoftmaxCrossEntropyKernels.Argmax);
        _adam = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamParameters, ElementRange>(AdamKernels.Update);
        _gather = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<int>, GatherShape>(BatchKernels.Gather);
    }

    /// <summary>Kernel launches issued so far (for `fashiongpu bench`).</summary>
    public long Launches { get; private set; }

    private ElementRange Range(long count) => ElementRange.For(checked((int)count), _elementsPerThread);

    private int Count(int threads)
    {
        Launches++;
        return threads;
    }

    public void ConvForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, ConvShape s, bool relu) =>
        _convForward(Count(s.ForwardThreads), x, w, b, y, s, relu ? 1 : 0);

    public void ConvBackwardParameters(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, ConvShape s) =>
        _convBackwardParameters(Count(s.BackwardParameterThreads), x, dy, dw, db, s);

    public void ConvBackwardInput(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, ConvShape s) =>
        _convBackwardInput(Count(s.BackwardInputThreads), dy, w, dx, s);

    public void PoolForward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolShape s) =>
        _poolForward(Count(s.ForwardThreads), x, y, argmax, s);

    public void PoolBackward(ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PoolShape s) =>
        _poolBackward(Count(s.BackwardThreads), dy, argmax, dx, s);

    public void DenseForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, DenseShape s, bool relu) =>
        _denseForward(Count(s.Forward.BlockCount), x, w, b, y, s, relu ? 1 : 0);

    public void DenseBackwardInput(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, DenseShape s) =>
        _denseBackwardInput(Count(s.BackwardInput.BlockCount), dy, w, dx, s);

    public void DenseBackwardWeights(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dw, DenseShape s) =>
        _denseBackwardWeights(Count(s.BackwardWeights.BlockCount), dy, x, dw, s);

    public void DenseBackwardBias(ArrayView<float> dy, ArrayView<float> db, DenseShape s) =>
        _denseBackwardBias(Count(s.Outputs), dy, db, s);

    public void ReluBackward(ArrayView<float> y, ArrayView<float> dy)
    {
        var range = Range(y.Length);
        _reluBackward(Count(range.Stride), y, dy, range);
    }

    public void DropoutForward(ArrayView<float> x, DropoutParameters p)
    {
        var range = Range(x.Length);
        _dropoutForward(Count(range.Stride), x, p, range);
    }

    public void DropoutBackward(ArrayView<float> dy, DropoutParameters p)
    {
        var range = Range(dy.Length);
        _dropoutBackward(Count(range.Stride), dy, p, range);
    }

    public void SoftmaxCrossEntropy(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> dLogits,
        ArrayView<float> loss, ArrayView<int> correct, LossShape s) =>
        _softmaxCrossEntropy(Count(s.Batch), logits, labels, dLogits, loss, correct, s);

    public void Argmax(ArrayView<float> logits, ArrayView<int> predictions, LossShape s) =>
        _argmax(Count(s.Batch), logits, predictions, s);

    public void Adam(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, AdamParameters p)
    {
        var range = Range(parameters.Length);
        _adam(Count(range.Stride), parameters, gradients, m, v, p, range);
    }

    public void Gather(ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, ArrayView<float> x,
        ArrayView<int> y, GatherShape s) =>
        _gather(Count(s.Threads), images, labels, indices, x, y, s);
}
