using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Runtime.Engines;

/// <summary>
/// The reference network on one ILGPU accelerator: its activations for up to <see cref="MaxBatch"/> images and one
/// allocation holding parameters, gradients and Adam's two moments (four views of ParameterCount floats), so the
/// optimizer is a single launch. Backward kernels overwrite their gradients: nothing needs zeroing between steps.
/// </summary>
internal sealed class IlgpuNetwork : IDisposable
{
    private readonly KernelSet _k;
    private readonly ModelArchitecture _model = ModelArchitecture.Reference;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _state;
    private readonly List<IDisposable> _buffers = new();

    public IlgpuNetwork(ComputeDevice device, int maxBatch)
    {
        _k = device.Kernels;
        MaxBatch = maxBatch;
        var a = device.Accelerator;
        var p = _model.ParameterCount;
        _state = a.Allocate1D<float>(4L * p);
        _state.MemSetToZero();
        Parameters = _state.View.SubView(0, p);
        Gradients = _state.View.SubView(p, p);
        FirstMoment = _state.View.SubView(2L * p, p);
        SecondMoment = _state.View.SubView(3L * p, p);

        ArrayView<T> Buffer<T>(long length) where T : unmanaged
        {
            var buffer = a.Allocate1D<T>(length);
            _buffers.Add(buffer);
            return buffer.View;
        }
        Input = Buffer<float>((long)maxBatch * ModelArchitecture.ImagePixels);
        Labels = Buffer<int>(maxBatch);
        Pool = Buffer<float>((long)maxBatch * ModelArchitecture.Flattened);
        PoolArgmax = Buffer<int>((long)maxBatch * ModelArchitecture.Flattened);
        Hidden = Buffer<float>((long)maxBatch * ModelArchitecture.Hidden);
        Logits = Buffer<float>((long)maxBatch * ModelArchitecture.Classes);
        DLogits = Buffer<float>((long)maxBatch * ModelArchitecture.Classes);
        DHidden = Buffer<float>((long)maxBatch * ModelArchitecture.Hidden);
        DPool = Buffer<float>((long)maxBatch * ModelArchitecture.Flattened);
    }

    public int MaxBatch { get; }

    public ArrayView<float> Parameters { get; }
    public ArrayView<float> Gradients { get; }
    public ArrayView<float> FirstMoment { get; }
    public ArrayView<float> SecondMoment { get; }

    public ArrayView<float> Input { get; }
    public ArrayView<int> Labels { get; }
    /// <summary>The conv block's output: conv + ReLU + pool, and dropout while training (flattened C,H,W).</summary>
    public ArrayView<float> Pool { get; }
    public ArrayView<int> PoolArgmax { get; }
    public ArrayView<float> Hidden { get; }
    public ArrayView<float> Logits { get; }
    public ArrayView<float> DLogits { get; }
    public ArrayView<float> DHidden { get; }
    /// <summary>Gradient with respect to the conv block's output (after dropout).</summary>
    public ArrayView<float> DPool { get; }

    public ArrayView<float> Parameter(string name) => Slice(Parameters, name);
    public ArrayView<float> Gradient(string name) => Slice(Gradients, name);

    private ArrayView<float> Slice(ArrayView<float> all, string name)
    {
        var t = _model[name];
        return all.SubView(t.Offset, t.Length);
    }

    public void Gather(ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, int batch, float pixelScale) =>
        _k.Gather(images, labels, indices, Input, Labels,
            new GatherShape(batch, ModelArchitecture.ImageSide, ModelArchitecture.ImageSide, pixelScale));

    /// <summary>Input → logits in three launches; <paramref name="dropout"/> is applied to the pooled activations.</summary>
    public void Forward(int batch, DropoutParameters dropout)
    {
        _k.ConvBlockForward(Input, Parameter("conv1.weight"), Parameter("conv1.bias"), Pool, PoolArgmax, _model.Conv(batch), dropout);
        _k.DenseForward(Pool, Parameter("dense1.weight"), Parameter("dense1.bias"), Hidden, _model.Dense1(batch), relu: true);
        _k.DenseForward(Hidden, Parameter("dense2.weight"), Parameter("dense2.bias"), Logits, _model.Dense2(batch), relu: false);
    }

    /// <summary>Per-sample loss and correctness into the given views, and the batch-mean gradient into DLogits.</summary>
    public void Loss(int batch, ArrayView<float> loss, ArrayView<int> correct) =>
        _k.SoftmaxCrossEntropy(Logits, Labels, DLogits, loss, correct, new LossShape(batch, ModelArchitecture.Classes));

    /// <summary>
    /// DLogits → every parameter gradient: dense2's parameters and input (masked by dense1's ReLU), dense1's parameters
    /// and input, then the conv block (pool routing, ReLU and dropout folded in). The image gradient is never needed.
    /// </summary>
    public void Backward(int batch, DropoutParameters dropout)
    {
        var dense2 = _model.Dense2(batch);
        _k.DenseBackwardParameters(DLogits, Hidden, Gradient("dense2.weight"), Gradient("dense2.bias"), dense2);
        _k.DenseBackwardInput(DLogits, Parameter("dense2.weight"), DHidden, reluMask: Hidden, dense2);
        var dense1 = _model.Dense1(batch);
        _k.DenseBackwardParameters(DHidden, Pool, Gradient("dense1.weight"), Gradient("dense1.bias"), dense1);
        _k.DenseBackwardInput(DHidden, Parameter("dense1.weight"), DPool, reluMask: null, dense1);
        _k.ConvBlockBackward(Input, Pool, PoolArgmax, DPool, Gradient("conv1.weight"), Gradient("conv1.bias"), _model.Conv(batch), dropout);
    }

    public void Adam(AdamParameters adam) => _k.Adam(Parameters, Gradients, FirstMoment, SecondMoment, adam);

    public void Dispose()
    {
        foreach (var b in _buffers)
            b.Dispose();
        _state.Dispose();
    }
}
