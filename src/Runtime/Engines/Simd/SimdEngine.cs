using System.Runtime.Intrinsics;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// Any planned model on the host's cores with 256-bit vectors (`--device simd`): the ops of its
/// <see cref="EngineProgram"/>, the same counter-based dropout, weight and shuffle streams as the ILGPU engine, so
/// checkpoints move between them. Work is split by output (images, channels, column panels, parameter chunks), never by
/// partial sums, so the bits do not depend on the number of cores.
/// </summary>
public sealed class SimdEngine : IEngine, IEngineInspection
{
    public const int EvaluationBatch = 256;
    private const int Classes = FashionMnistShape.Classes;

    private readonly EngineProgram _program;
    private readonly int _parallelism;
    private readonly float[] _parameters, _gradients, _m, _v;
    /// <summary>The weight average (--ema), null without one; inference swaps it into the parameters' place.</summary>
    private readonly float[]? _average;
    /// <summary>The raw weights while the average answers (<see cref="Logits"/>); allocated with the average.</summary>
    private readonly float[]? _raw;
    private readonly float[] _x;
    private readonly int[] _labels;
    private readonly SimdOp[] _ops;
    private long _step;
    private HostDataset? _epochData;
    private int[] _order = [];
    private Augmentation _augment;
    private readonly IReadOnlyList<ParameterRun> _optimizerRuns;
    private float[] _sampleLoss = [];
    private int[] _sampleCorrect = [];

    public SimdEngine(ModelPlan model, TrainingSettings settings, int? parallelism = null)
    {
        EngineChecks.BatchSize(settings);
        Settings = settings;
        _program = new EngineProgram(model);
        _parallelism = parallelism ?? Environment.ProcessorCount;
        // Forward buffers serve evaluation batches too; gradients only ever hold a training batch.
        var (batch, train) = (Math.Max(settings.BatchSize, EvaluationBatch), settings.BatchSize);
        EngineChecks.Fits(_program, batch, train, Devices.ComputeDevice.HostMemory, "this machine's memory");
        var p = model.ParameterCount;
        (_parameters, _gradients, _m, _v) = (new float[p], new float[p], new float[p], new float[p]);
        (_average, _raw) = settings.Ema > 0 ? (new float[p], new float[p]) : (null, null);
        _x = new float[batch * model.Input.Size];
        _labels = new int[batch];
        _ops = _program.Ops.Select(op =>
        {
            var (argmax, saved, scratch) = SimdLayer.For(op).Buffers(op, batch, train);
            return new SimdOp(op, _parameters, _gradients)
            {
                Output = new float[batch * op.Output.Size],
                Gradient = op.Trains ? new float[train * op.Output.Size] : [],
                Argmax = new int[argmax], Saved = new float[saved], Scratch = new float[scratch],
            };
        }).ToArray();
        _optimizerRuns = model.OptimizerRuns(settings.WeightDecay > 0);
        LoadState(ModelState.Fresh(model, settings.Seed));
    }

    public static string VectorDescription =>
        Vector512.IsHardwareAccelerated ? "512-bit vectors in the GEMM tiles, 256-bit elsewhere" : Vector256.IsHardwareAccelerated ? "256-bit vectors" : "scalar";

    public string DeviceId => "simd";
    public static string Description => $"SIMD engine: {Environment.ProcessorCount} cores, {VectorDescription}";

    public string DeviceName => Description;
    public ModelPlan Model => _program.Plan;
    public TrainingSettings Settings { get; }
    public long Launches { get; private set; }

    /// <summary>Each phase of a step is timed into it (the SIMD engine has no asynchronous work to wait for).</summary>
    public Profiling.StepProfile? Profile { get; set; }

    public bool SimulatesThreads => false;

    /// <summary>Independent FMAs on every core, and each dense layer's forward and backward alone, warm.</summary>
    public Profiling.PeakMeasurement MeasurePeak(int batch) =>
        new(FmaPeak.MeasureGflops(_parallelism), FmaPeak.Description, DenseBenchmark.Run(Model, batch, _parallelism));

    private void Phase(string name, Action work)
    {
        Launches++;
        if (Profile is null)
        {
            work();
            return;
        }
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        work();
        Profile.Add(name, System.Diagnostics.Stopwatch.GetElapsedTime(start));
    }
    public long Synchronizations => 0;

    private sealed class HostDataset(LabeledImages data) : IEngineDataset
    {
        public LabeledImages Data => data;
        public int Count => data.Count;
        public void Dispose() { }
    }

    public IEngineDataset Upload(LabeledImages data) => new HostDataset(data);

    public void LoadState(ModelState state)
    {
        EngineChecks.State(state, Model);
        state.Parameters.CopyTo(_parameters, 0);
        state.FirstMoment.CopyTo(_m, 0);
        state.SecondMoment.CopyTo(_v, 0);
        if (_average is not null)
            (state.Average ?? state.Parameters).CopyTo(_average, 0);
        _step = state.Step;
        _diverged = ParametersDiverged = false;
    }

    public ModelState ReadState() =>
        new((float[])_parameters.Clone(), (float[])_m.Clone(), (float[])_v.Clone(), _step) { Average = (float[]?)_average?.Clone() };

    public void BeginEpoch(IEngineDataset data, int[] order, int epoch)
    {
        _augment = Settings.AugmentationIn(epoch);
        var dataset = (HostDataset)data;
        EngineChecks.Order(order, dataset.Count);
        _epochData = dataset;
        _order = (int[])order.Clone();
        _sampleLoss = new float[order.Length];
        _sampleCorrect = new int[order.Length];
    }

    public void Synchronize() { }

    public void TrainStep(int start, int count, double learningRate)
    {
        EngineChecks.Step(_epochData is not null, start, count, Settings.BatchSize, _order.Length);
        var step = ++_step;
        Gather(_epochData!.Data, _order, start, count, _augment);
        Forward(count, step);
        Loss(count, start);
        Backward(count, step);
        Optimize(Settings.OptimizerAt(step, learningRate));
        if (_average is { } average)
            Phase("Average", () => SimdOptimizer.Average(_parameters, average, Settings.AverageWeightAt(step), _parallelism));
    }

    public EpochTotals ReadEpochTotals(int start, int end)
    {
        ParametersDiverged = _diverged;
        return end <= start ? default : EpochTotals.Sum(_sampleLoss.AsSpan(start, end - start), _sampleCorrect.AsSpan(start, end - start));
    }

    public float[] Logits(IEngineDataset data, int[] indices, Augmentation view = default)
    {
        if (_average is null || _raw is null)
            return AnswerWithParameters(data, indices, view);
        _parameters.CopyTo(_raw, 0);
        _average.CopyTo(_parameters, 0);
        try
        {
            return AnswerWithParameters(data, indices, view);
        }
        finally
        {
            _raw.CopyTo(_parameters, 0);
        }
    }

    private float[] AnswerWithParameters(IEngineDataset data, int[] indices, Augmentation view)
    {
        var dataset = (HostDataset)data;
        var result = new float[indices.Length * Classes];
        for (var start = 0; start < indices.Length; start += EvaluationBatch)
        {
            var count = Math.Min(EvaluationBatch, indices.Length - start);
            Gather(dataset.Data, indices, start, count, view);
            Forward(count, step: null);
            _ops[^1].Output.AsSpan(0, count * Classes).CopyTo(result.AsSpan(start * Classes));
        }
        return result;
    }


    private void Gather(LabeledImages data, int[] order, int start, int count, Augmentation augment) => Phase("Gather", () =>
        SimdGather.Gather(data, order.AsSpan(start, count), Model.PixelScale, augment, _x, _labels));

    /// <summary>Every op forward; <paramref name="step"/> is the optimizer step while training, null in inference.</summary>
    private void Forward(int batch, long? step)
    {
        var x = _x;
        foreach (var o in _ops)
        {
            var op = o.Op;
            (o.Batch, o.Input, o.Training, o.Parallelism) = (batch, x, step is not null, _parallelism);
            o.Dropout = step is { } t && op.HasDropout ? Settings.DropoutAt(t, op.DropoutOrdinal, op.DropoutRate) : DropoutParameters.None;
            var layer = SimdLayer.For(op);
            Phase(op.Name + ".Forward", () => layer.Forward(o));
            x = o.Output;
        }
    }

    private void Loss(int batch, int start) => Phase("SoftmaxCrossEntropy", () =>
        SimdSoftmaxCrossEntropy.ForwardBackward(_ops[^1].Output, _labels, _ops[^1].Gradient, _sampleLoss.AsSpan(start, batch),
            _sampleCorrect.AsSpan(start, batch), new LossShape(batch, Classes, (float)Settings.LabelSmoothing)));

    /// <summary>From the loss's gradient down to the first trained op: parameter gradients, and input gradients where needed.</summary>
    private void Backward(int batch, long step)
    {
        for (var i = _ops.Length - 1; i >= 0 && _program.Ops[i].Trains; i--)
        {
            var (o, op) = (_ops[i], _ops[i].Op);
            (o.Batch, o.Input, o.Training, o.Parallelism) = (batch, i == 0 ? _x : _ops[i - 1].Output, true, _parallelism);
            o.InputGradient = op.NeedsInputGradient ? _ops[i - 1].Gradient : null;
            o.Dropout = op.HasDropout ? Settings.DropoutAt(step, op.DropoutOrdinal, op.DropoutRate) : DropoutParameters.None;
            var layer = SimdLayer.For(op);
            Phase(op.Name + ".Backward", () => layer.Backward(o));
        }
    }

    private void Optimize(OptimizerStep a) => Phase("Optimizer", () =>
    {
        foreach (var run in _optimizerRuns)
            _diverged |= SimdOptimizer.Update(_parameters, _gradients, _m, _v, run.Decays ? a : a.WithoutDecay(), run.Offset, run.Offset + run.Length, _parallelism);
    });

    private bool _diverged;

    public bool ParametersDiverged { get; private set; }

    float[] IEngineInspection.LayerOutput(int layer, int length) =>
        (layer < 0 || _program.OpProducing(layer) < 0 ? _x : _ops[_program.OpProducing(layer)].Output).AsSpan(0, length).ToArray();

    float[] IEngineInspection.LayerOutputGradient(int layer, int length) => _ops[_program.OpProducing(layer)].Gradient.AsSpan(0, length).ToArray();

    float[] IEngineInspection.ParameterGradient(string name) => _gradients.AsSpan(Model[name].Offset, Model[name].Length).ToArray();

    public void Dispose() { }
}
