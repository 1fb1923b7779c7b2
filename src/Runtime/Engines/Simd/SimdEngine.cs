using System.Runtime.Intrinsics;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The reference network on the host's cores with 256-bit vectors (`--device simd`): the same layers and the same
/// counter-based dropout, weight and shuffle streams as the ILGPU engine, so checkpoints move between them. Work is
/// split by output (images, column panels, parameter chunks), never by partial sums, so the bits do not depend on the
/// number of cores; per-image partial gradients of the conv layer are added in image order.
/// </summary>
public sealed class SimdEngine : IEngine, IEngineInspection
{
    public const int EvaluationBatch = 256;
    private const int Classes = ModelArchitecture.Classes;
    private const int Hidden = ModelArchitecture.Hidden;
    private const int Flat = ModelArchitecture.Flattened;
    private const int Pixels = ModelArchitecture.ImagePixels;

    private readonly ModelArchitecture _model = ModelArchitecture.Reference;
    private readonly int _parallelism;
    private readonly float[] _parameters, _gradients, _m, _v;
    private readonly float[] _x, _pool, _hidden, _logits, _dLogits, _dHidden, _dPool, _convPartials;
    private readonly int[] _labels, _argmax;
    private long _step;
    private HostDataset? _epochData;
    private int[] _order = [];
    private float[] _sampleLoss = [];
    private int[] _sampleCorrect = [];

    public SimdEngine(TrainingSettings settings, int? parallelism = null)
    {
        EngineChecks.BatchSize(settings);
        Settings = settings;
        _parallelism = parallelism ?? Environment.ProcessorCount;
        var p = _model.ParameterCount;
        (_parameters, _gradients, _m, _v) = (new float[p], new float[p], new float[p], new float[p]);
        // Forward buffers serve evaluation batches too; gradients only ever hold a training batch.
        var batch = Math.Max(settings.BatchSize, EvaluationBatch);
        _x = new float[batch * Pixels];
        _labels = new int[batch];
        _pool = new float[batch * Flat];
        _argmax = new int[batch * Flat];
        _hidden = new float[batch * Hidden];
        _logits = new float[batch * Classes];
        _dLogits = new float[settings.BatchSize * Classes];
        _dHidden = new float[settings.BatchSize * Hidden];
        _dPool = new float[settings.BatchSize * Flat];
        _convPartials = new float[settings.BatchSize * SimdConvBlock.PartialLength(_model.Conv(1))];
        LoadState(ModelState.Fresh(_model, settings.Seed));
    }

    public static string VectorDescription =>
        Vector512.IsHardwareAccelerated ? "AVX-512 capable, 256-bit vectors used" : Vector256.IsHardwareAccelerated ? "256-bit vectors" : "scalar";

    public string DeviceId => "simd";
    public static string Description => $"SIMD engine: {Environment.ProcessorCount} cores, {VectorDescription}";

    public string DeviceName => Description;
    public TrainingSettings Settings { get; }
    public long Launches { get; private set; }

    /// <summary>Each phase of a step is timed into it (the SIMD engine has no asynchronous work to wait for).</summary>
    public Devices.KernelProfile? Profile { get; set; }

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
        EngineChecks.State(state);
        state.Parameters.CopyTo(_parameters, 0);
        state.FirstMoment.CopyTo(_m, 0);
        state.SecondMoment.CopyTo(_v, 0);
        _step = state.Step;
    }

    public ModelState ReadState() => new((float[])_parameters.Clone(), (float[])_m.Clone(), (float[])_v.Clone(), _step);

    public void BeginEpoch(IEngineDataset data, int[] order)
    {
        var dataset = (HostDataset)data;
        EngineChecks.Order(order, dataset.Count);
        _epochData = dataset;
        _order = (int[])order.Clone();
        _sampleLoss = new float[order.Length];
        _sampleCorrect = new int[order.Length];
    }

    public void Synchronize() { }

    public void TrainStep(int start, int count)
    {
        EngineChecks.Step(_epochData is not null, start, count, Settings.BatchSize, _order.Length);
        var step = ++_step;
        var dropout = Settings.DropoutAt(step);
        Gather(_epochData!.Data, _order, start, count);
        Forward(count, dropout);
        Loss(count, start);
        Backward(count, dropout);
        Adam(Settings.AdamAt(step));
    }

    public EpochTotals ReadEpochTotals(int start, int end) => end <= start ? default
        : EpochTotals.Sum(_sampleLoss.AsSpan(start, end - start), _sampleCorrect.AsSpan(start, end - start));

    public float[] Logits(IEngineDataset data, int[] indices)
    {
        var dataset = (HostDataset)data;
        var result = new float[indices.Length * Classes];
        for (var start = 0; start < indices.Length; start += EvaluationBatch)
        {
            var count = Math.Min(EvaluationBatch, indices.Length - start);
            Gather(dataset.Data, indices, start, count);
            Forward(count, DropoutParameters.None);
            _logits.AsSpan(0, count * Classes).CopyTo(result.AsSpan(start * Classes));
        }
        return result;
    }

    private Memory<float> Parameter(string name) => _parameters.AsMemory(_model[name].Offset, _model[name].Length);
    private int Offset(string name) => _model[name].Offset;

    private void Gather(LabeledImages data, int[] order, int start, int count) => Phase("Gather", () =>
    {
        var indices = order.AsSpan(start, count);
        var scale = Settings.PixelScale;
        for (var b = 0; b < indices.Length; b++)
        {
            var source = data.Pixels.AsSpan(indices[b] * Pixels, Pixels);
            var target = _x.AsSpan(b * Pixels, Pixels);
            for (var i = 0; i < Pixels; i++)
                target[i] = source[i] * scale;
            _labels[b] = data.Labels[indices[b]];
        }
    });

    private void Forward(int batch, DropoutParameters dropout)
    {
        Phase("ConvBlock.Forward", () => SimdConvBlock.Forward(_x, Parameter("conv1.weight"), Parameter("conv1.bias"), _pool, _argmax, _model.Conv(batch), dropout, Options));
        Phase("Dense1.Forward", () => SimdDense.Forward(_pool, _parameters, Offset("dense1.weight"),
            Parameter("dense1.bias").Span, _hidden, _model.Dense1(batch), relu: true, _parallelism));
        Phase("Dense2.Forward", () => SimdDense.Forward(_hidden, _parameters, Offset("dense2.weight"),
            Parameter("dense2.bias").Span, _logits, _model.Dense2(batch), relu: false, 1));
    }

    private ParallelOptions Options => _options ??= new ParallelOptions { MaxDegreeOfParallelism = _parallelism };
    private ParallelOptions? _options;

    private void Loss(int batch, int start) => Phase("SoftmaxCrossEntropy", () =>
        SimdSoftmaxCrossEntropy.ForwardBackward(_logits, _labels, _dLogits, _sampleLoss.AsSpan(start, batch),
            _sampleCorrect.AsSpan(start, batch), new LossShape(batch, Classes)));

    private void Backward(int batch, DropoutParameters dropout)
    {
        Phase("Dense2.Backward", () =>
        {
            var s = _model.Dense2(batch);
            SimdDense.BackwardParameters(_dLogits, _hidden, _gradients, Offset("dense2.weight"), Gradient("dense2.bias"), s, 1);
            SimdDense.BackwardInput(_dLogits, _parameters, Offset("dense2.weight"), _dHidden, _hidden, s, 1);
        });
        var dense1 = _model.Dense1(batch);
        Phase("Dense1.BackwardParameters", () =>
            SimdDense.BackwardParameters(_dHidden, _pool, _gradients, Offset("dense1.weight"), Gradient("dense1.bias"), dense1, _parallelism));
        Phase("Dense1.BackwardInput", () =>
            SimdDense.BackwardInput(_dHidden, _parameters, Offset("dense1.weight"), _dPool, [], dense1, _parallelism));
        Phase("ConvBlock.BackwardParameters", () => SimdConvBlock.BackwardParameters(_x, _pool, _argmax, _dPool, _convPartials,
            Gradient("conv1.weight"), Gradient("conv1.bias"), _model.Conv(batch), dropout, Options));
    }

    private Span<float> Gradient(string name) => _gradients.AsSpan(_model[name].Offset, _model[name].Length);

    private void Adam(AdamParameters a) => Phase("Adam", () => SimdAdam.Update(_parameters, _gradients, _m, _v, a, Options));

    float[] IEngineInspection.Inspect(string name, int length)
    {
        var source = name switch
        {
            "pool" => _pool,
            "hidden" => _hidden,
            "logits" => _logits,
            "d_logits" => _dLogits,
            "d_hidden" => _dHidden,
            "d_dropout" => _dPool,
            _ when name.StartsWith("grad.", StringComparison.Ordinal) => Gradient(name[5..]).ToArray(),
            _ => throw new ArgumentException($"no tensor {name}"),
        };
        return source.AsSpan(0, length).ToArray();
    }

    public void Dispose() { }
}
