using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Runtime.Engines;

/// <summary>
/// A planned model on one ILGPU accelerator: its <see cref="EngineProgram"/>'s activations for up to
/// <see cref="MaxBatch"/> images and one allocation holding parameters, gradients and Adam's two moments (four views
/// of ParameterCount floats), so the optimizer is a single launch. Backward kernels overwrite their gradients: nothing
/// needs zeroing between steps (running statistics have no gradient kernel and stay at zero).
/// </summary>
internal sealed class IlgpuNetwork : IDisposable
{
    private readonly KernelSet _k;
    private readonly EngineProgram _program;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _state;
    private readonly List<IDisposable> _buffers = new();
    private readonly OpViews[] _ops;

    /// <summary>An op's output, its gradient and what its backward keeps from the forward pass.</summary>
    private sealed class OpViews
    {
        public ArrayView<float> Output;
        public ArrayView<float> Gradient;
        public ArrayView<int> Argmax;
        public ArrayView<float> Saved;
        public ArrayView<float> Scratch;
    }

    private readonly IReadOnlyList<ParameterRun> _optimizerRuns;
    private readonly float _labelSmoothing;

    public IlgpuNetwork(ComputeDevice device, EngineProgram program, int maxBatch, int trainBatch, IReadOnlyList<ParameterRun> optimizerRuns,
        float labelSmoothing)
    {
        _k = device.Kernels;
        _optimizerRuns = optimizerRuns;
        _labelSmoothing = labelSmoothing;
        _program = program;
        MaxBatch = maxBatch;
        var a = device.Accelerator;
        var p = program.Plan.ParameterCount;
        _state = a.Allocate1D<float>(4L * p);
        _state.MemSetToZero();
        Parameters = _state.View.SubView(0, p);
        Gradients = _state.View.SubView(p, p);
        FirstMoment = _state.View.SubView(2L * p, p);
        SecondMoment = _state.View.SubView(3L * p, p);

        ArrayView<T> Buffer<T>(long length) where T : unmanaged
        {
            var buffer = a.Allocate1D<T>(Math.Max(1, length));
            _buffers.Add(buffer);
            return buffer.View;
        }
        Input = Buffer<float>((long)maxBatch * program.Plan.Input.Size);
        NonFinite = Buffer<int>(1);
        NonFinite.MemSetToZero();
        Labels = Buffer<int>(maxBatch);
        _ops = program.Ops.Select(op => new OpViews
        {
            Output = Buffer<float>((long)maxBatch * op.Output.Size),
            Gradient = op.Trains ? Buffer<float>((long)trainBatch * op.Output.Size) : default,
            Argmax = op.Kind is OpKind.ConvBlock or OpKind.MaxPool || op.Pool ? Buffer<int>((long)maxBatch * op.Output.Size) : default,
            Saved = op.Kind is OpKind.BatchNorm ? Buffer<float>(2L * op.Input.Channels) : default,
            // A pooling conv's full-size output in the forward pass, and its gradient in the backward pass.
            Scratch = op.Pool ? Buffer<float>((long)maxBatch * op.Layer.Output.Size)
                : op is { Kind: OpKind.Dense, Relu: true, Trains: true } ? Buffer<float>((long)trainBatch * op.Output.Size) : default,
        }).ToArray();
    }

    public int MaxBatch { get; }

    public ArrayView<float> Parameters { get; }
    public ArrayView<float> Gradients { get; }
    public ArrayView<float> FirstMoment { get; }
    public ArrayView<float> SecondMoment { get; }

    public ArrayView<float> Input { get; }

    /// <summary>1 once an Adam step made a parameter NaN or infinite.</summary>
    public ArrayView<int> NonFinite { get; }
    public ArrayView<int> Labels { get; }
    public ArrayView<float> Logits => _ops[^1].Output;
    public ArrayView<float> DLogits => _ops[^1].Gradient;

    public ArrayView<float> Gradient(string name) => Slice(Gradients, name);

    /// <summary>The output (or, with <paramref name="gradient"/>, its gradient) of layer <paramref name="layer"/>.</summary>
    public ArrayView<float> Activation(int layer, bool gradient)
    {
        var op = _program.OpProducing(layer);
        return op < 0 ? Input : gradient ? _ops[op].Gradient : _ops[op].Output;
    }

    private ArrayView<float> Slice(ArrayView<float> all, string name)
    {
        var t = _program.Plan[name];
        return all.SubView(t.Offset, t.Length);
    }

    private ArrayView<float> Parameter(Op op, string suffix) => Slice(Parameters, $"{op.Layer.Name}.{suffix}");
    private ArrayView<float> Gradient(Op op, string suffix) => Slice(Gradients, $"{op.Layer.Name}.{suffix}");


    public void Gather(ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, int batch, Augmentation augment) =>
        _k.Gather(images, labels, indices, Input, Labels,
            new GatherShape(batch, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide, _program.Plan.PixelScale), augment);

    /// <summary>Input → logits; <paramref name="dropout"/> gives an op's mask while training, null in inference.</summary>
    public void Forward(int batch, Func<Op, DropoutParameters>? dropout)
    {
        var x = Input;
        for (var i = 0; i < _ops.Length; i++)
        {
            var (op, v) = (_program.Ops[i], _ops[i]);
            var length = (long)batch * op.Output.Size;
            var y = v.Output.SubView(0, length);
            var mask = dropout is not null && op.HasDropout ? dropout(op) : DropoutParameters.None;
            switch (op.Kind)
            {
                case OpKind.ConvBlock:
                    _k.ConvBlockForward(x, Parameter(op, "weight"), Parameter(op, "bias"), v.Output, v.Argmax, op.Conv(batch), mask);
                    break;
                case OpKind.Conv2d when op.Pool:
                    _k.ConvForward(x, Parameter(op, "weight"), Parameter(op, "bias"), v.Scratch, op.Conv(batch), relu: false);
                    _k.PoolForward(v.Scratch, v.Output, v.Argmax, op.Pooling(batch));
                    break;
                case OpKind.Conv2d:
                    _k.ConvForward(x, Parameter(op, "weight"), Parameter(op, "bias"), v.Output, op.Conv(batch), relu: false);
                    break;
                case OpKind.BatchNorm:
                    _k.BatchNormForward(x, y, Parameter(op, "weight"), Parameter(op, "bias"), Parameter(op, "running_mean"), Parameter(op, "running_var"),
                        v.Saved, op.Norm(batch), training: dropout is not null);
                    break;
                case OpKind.Relu:
                    _k.ReluForward(x.SubView(0, length), y);
                    break;
                case OpKind.MaxPool:
                    _k.PoolForward(x, v.Output, v.Argmax, op.Pooling(batch));
                    break;
                case OpKind.Dropout:
                    _k.Copy(x.SubView(0, length), y);
                    if (mask.Rate > 0f)
                        _k.DropoutForward(y, mask);
                    break;
                case OpKind.GlobalAvgPool:
                    _k.GlobalAvgPoolForward(x, v.Output, batch * op.Input.Channels, op.Input.Spatial);
                    break;
                case OpKind.Dense:
                    _k.DenseForward(x, Parameter(op, "weight"), Parameter(op, "bias"), v.Output, op.Dense(batch), op.Relu);
                    break;
            }
            x = v.Output;
        }
    }

    /// <summary>Per-sample loss and correctness into the given views, and the batch-mean gradient into DLogits.</summary>
    public void Loss(int batch, ArrayView<float> loss, ArrayView<int> correct) =>
        _k.SoftmaxCrossEntropy(Logits, Labels, DLogits, loss, correct, new LossShape(batch, FashionMnistShape.Classes, _labelSmoothing));

    /// <summary>DLogits → every parameter gradient, op by op down to the first trained one.</summary>
    public void Backward(int batch, Func<Op, DropoutParameters> dropout)
    {
        for (var i = _ops.Length - 1; i >= 0 && _program.Ops[i].Trains; i--)
        {
            var (op, v) = (_program.Ops[i], _ops[i]);
            var x = i == 0 ? Input : _ops[i - 1].Output;
            ArrayView<float>? dx = op.NeedsInputGradient ? _ops[i - 1].Gradient.SubView(0, (long)batch * op.Input.Size) : null;
            var length = (long)batch * op.Output.Size;
            var dy = v.Gradient.SubView(0, length);
            switch (op.Kind)
            {
                case OpKind.ConvBlock:
                    _k.ConvBlockBackward(x, v.Output, v.Argmax, v.Gradient, Gradient(op, "weight"), Gradient(op, "bias"), op.Conv(batch), dropout(op));
                    break;
                case OpKind.Conv2d:
                    var convGradient = v.Gradient;
                    if (op.Pool)
                    {
                        _k.PoolBackward(v.Gradient, v.Argmax, v.Scratch, op.Pooling(batch));
                        convGradient = v.Scratch;
                    }
                    _k.ConvBackward(x, convGradient, Parameter(op, "weight"), Gradient(op, "weight"), Gradient(op, "bias"), dx, op.Conv(batch));
                    break;
                case OpKind.BatchNorm:
                    _k.BatchNormBackward(x, dy, dx, Parameter(op, "weight"), v.Saved, Gradient(op, "weight"), Gradient(op, "bias"), op.Norm(batch));
                    break;
                case OpKind.Relu:
                    _k.ReluBackward(v.Output.SubView(0, length), dy, dx!.Value);
                    break;
                case OpKind.MaxPool:
                    _k.PoolBackward(v.Gradient, v.Argmax, dx!.Value, op.Pooling(batch));
                    break;
                case OpKind.Dropout:
                    _k.Copy(dy, dx!.Value);
                    if (op.DropoutRate > 0f)
                        _k.DropoutBackward(dx.Value, dropout(op));
                    break;
                case OpKind.GlobalAvgPool:
                    _k.GlobalAvgPoolBackward(v.Gradient, dx!.Value, batch * op.Input.Channels, op.Input.Spatial);
                    break;
                case OpKind.Dense:
                    var g = v.Gradient;
                    if (op.Relu)
                    {
                        _k.ReluBackward(v.Output.SubView(0, length), dy, v.Scratch.SubView(0, length));
                        g = v.Scratch;
                    }
                    _k.DenseBackwardParameters(g, x, Gradient(op, "weight"), Gradient(op, "bias"), op.Dense(batch));
                    if (dx is { } denseInput)
                        _k.DenseBackwardInput(g, Parameter(op, "weight"), denseInput, reluMask: null, op.Dense(batch));
                    break;
            }
        }
    }

    /// <summary>One optimizer step: a launch per run of parameters with or without weight decay (one without it).</summary>
    public void Optimize(OptimizerStep step)
    {
        foreach (var run in _optimizerRuns)
            _k.Optimizer(Parameters.SubView(run.Offset, run.Length), Gradients.SubView(run.Offset, run.Length), FirstMoment.SubView(run.Offset, run.Length),
                SecondMoment.SubView(run.Offset, run.Length), run.Decays ? step : step.WithoutDecay(), NonFinite);
    }

    public void Dispose()
    {
        foreach (var b in _buffers)
            b.Dispose();
        _state.Dispose();
    }
}
