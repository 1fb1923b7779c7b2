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
    private readonly Ilgpu.IlgpuOp[] _ops;

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
        _ops = program.Ops.Select(op =>
        {
            var (argmax, saved, scratch) = Ilgpu.IlgpuLayer.For(op).Buffers(op, maxBatch, trainBatch);
            return new Ilgpu.IlgpuOp(op, _k, name => Slice(Parameters, name), name => Slice(Gradients, name))
            {
                Output = Buffer<float>((long)maxBatch * op.Output.Size),
                Gradient = op.Trains ? Buffer<float>((long)trainBatch * op.Output.Size) : default,
                Argmax = argmax > 0 ? Buffer<int>(argmax) : default,
                Saved = saved > 0 ? Buffer<float>(saved) : default,
                Scratch = scratch > 0 ? Buffer<float>(scratch) : default,
            };
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


    public void Gather(ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, int batch, Augmentation augment) =>
        _k.Gather(images, labels, indices, Input, Labels,
            new GatherShape(batch, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide, _program.Plan.PixelScale), augment);

    /// <summary>Input → logits; <paramref name="dropout"/> gives an op's mask while training, null in inference.</summary>
    public void Forward(int batch, Func<Op, DropoutParameters>? dropout)
    {
        var x = Input;
        foreach (var o in _ops)
        {
            (o.Batch, o.Input, o.Training) = (batch, x, dropout is not null);
            o.Dropout = dropout is not null && o.Op.HasDropout ? dropout(o.Op) : DropoutParameters.None;
            Ilgpu.IlgpuLayer.For(o.Op).Forward(o);
            x = o.Output;
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
            var o = _ops[i];
            (o.Batch, o.Input, o.Training) = (batch, i == 0 ? Input : _ops[i - 1].Output, true);
            o.InputGradient = o.Op.NeedsInputGradient ? _ops[i - 1].Gradient.SubView(0, (long)batch * o.Op.Input.Size) : null;
            o.Dropout = o.Op.HasDropout ? dropout(o.Op) : DropoutParameters.None;
            Ilgpu.IlgpuLayer.For(o.Op).Backward(o);
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
