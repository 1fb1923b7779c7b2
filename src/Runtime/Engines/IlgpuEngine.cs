using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Runtime.Engines;

/// <summary>
/// The engine on an ILGPU accelerator (CUDA, OpenCL or the CPU simulator). Datasets live on the device as bytes and
/// batches are gathered there; a training step is a fixed sequence of launches with no host synchronisation. Per-sample
/// losses and hits of an epoch stay on the device until <see cref="ReadEpochTotals"/> sums them in order.
/// </summary>
public sealed class IlgpuEngine : IEngine, IEngineInspection
{
    public const int EvaluationBatch = 500;

    private readonly ComputeDevice _device;
    private readonly IlgpuNetwork _network;
    private long _step;
    private DeviceDataset? _epochData;
    private int _epochLength;
    private Augmentation _augment;
    private MemoryBuffer1D<int, Stride1D.Dense>? _order;
    private MemoryBuffer1D<float, Stride1D.Dense>? _sampleLoss;
    private MemoryBuffer1D<int, Stride1D.Dense>? _sampleCorrect;

    private readonly bool _ownsDevice;

    /// <summary>The weight average (--ema), and room to keep the raw parameters while inference runs on it; null without one.</summary>
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _average, _rawWhileAnswering;

    public IlgpuEngine(ComputeDevice device, ModelPlan model, TrainingSettings settings, bool ownsDevice = false)
    {
        _ownsDevice = ownsDevice;
        EngineChecks.BatchSize(settings);
        _device = device;
        Model = model;
        Settings = settings;
        var program = new EngineProgram(model);
        EngineChecks.Fits(program, Math.Max(settings.BatchSize, EvaluationBatch), settings.BatchSize, device.MemoryBytes, $"{device.Id} ({device.Name})");
        _network = new IlgpuNetwork(device, program, Math.Max(settings.BatchSize, EvaluationBatch), settings.BatchSize,
            model.OptimizerRuns(settings.WeightDecay > 0), (float)settings.LabelSmoothing);
        if (settings.Ema > 0)
            (_average, _rawWhileAnswering) = (device.Accelerator.Allocate1D<float>(model.ParameterCount), device.Accelerator.Allocate1D<float>(model.ParameterCount));
        LoadState(ModelState.Fresh(model, settings.Seed));
    }

    public ModelPlan Model { get; }

    public string DeviceId => _device.Id;
    public string DeviceName => _device.Name;
    public TrainingSettings Settings { get; }
    public long Launches => _device.Kernels.Launches;
    public long Synchronizations { get; private set; }
    public bool ParametersDiverged { get; private set; }

    public bool SimulatesThreads => _device.IsCpu;

    public Profiling.StepProfile? Profile
    {
        get => _device.Kernels.Profile;
        set => _device.Kernels.Profile = value;
    }

    internal IlgpuNetwork Network => _network;

    private sealed class DeviceDataset(MemoryBuffer1D<byte, Stride1D.Dense> images, MemoryBuffer1D<byte, Stride1D.Dense> labels, int count)
        : IEngineDataset
    {
        public ArrayView<byte> Images => images.View;
        public ArrayView<byte> Labels => labels.View;
        public int Count => count;

        public void Dispose()
        {
            images.Dispose();
            labels.Dispose();
        }
    }

    public IEngineDataset Upload(LabeledImages data)
    {
        var a = _device.Accelerator;
        return new DeviceDataset(a.Allocate1D(data.Pixels), a.Allocate1D(data.Labels), data.Count);
    }

    public void LoadState(ModelState state)
    {
        EngineChecks.State(state, Model);
        _network.Parameters.CopyFromCPU(state.Parameters);
        _network.FirstMoment.CopyFromCPU(state.FirstMoment);
        _network.SecondMoment.CopyFromCPU(state.SecondMoment);
        _average?.View.CopyFromCPU(state.Average ?? state.Parameters);
        _network.NonFinite.MemSetToZero();
        ParametersDiverged = false;
        _step = state.Step;
        _device.Accelerator.Synchronize();
    }

    public ModelState ReadState()
    {
        _device.Accelerator.Synchronize();
        var n = Model.ParameterCount;
        var (p, m, v) = (new float[n], new float[n], new float[n]);
        _network.Parameters.CopyToCPU(p);
        _network.FirstMoment.CopyToCPU(m);
        _network.SecondMoment.CopyToCPU(v);
        float[]? average = null;
        if (_average is not null)
        {
            average = new float[n];
            _average.View.CopyToCPU(average);
        }
        return new ModelState(p, m, v, _step) { Average = average };
    }

    public void BeginEpoch(IEngineDataset data, int[] order, int epoch)
    {
        _augment = Settings.AugmentationIn(epoch);
        var dataset = (DeviceDataset)data;
        EngineChecks.Order(order, dataset.Count);
        var a = _device.Accelerator;
        if (_order is null || _order.Length != order.Length)
        {
            _order?.Dispose();
            _sampleLoss?.Dispose();
            _sampleCorrect?.Dispose();
            _order = a.Allocate1D<int>(Math.Max(1, order.Length));
            _sampleLoss = a.Allocate1D<float>(Math.Max(1, order.Length));
            _sampleCorrect = a.Allocate1D<int>(Math.Max(1, order.Length));
        }
        if (order.Length > 0)
            _order.View.SubView(0, order.Length).CopyFromCPU(order);
        _epochData = dataset;
        _epochLength = order.Length;
    }

    public void TrainStep(int start, int count, double learningRate)
    {
        EngineChecks.Step(_epochData is not null, start, count, Settings.BatchSize, _epochLength);
        var step = ++_step;
        DropoutParameters Dropout(Op op) => Settings.DropoutAt(step, op.DropoutOrdinal, op.DropoutRate);
        _network.Gather(_epochData!.Images, _epochData.Labels, _order!.View.SubView(start, count), count, _augment);
        _network.Forward(count, Dropout);
        _network.Loss(count, _sampleLoss!.View.SubView(start, count), _sampleCorrect!.View.SubView(start, count));
        _network.Backward(count, Dropout);
        _network.Optimize(Settings.OptimizerAt(step, learningRate));
        if (_average is not null)
            Ilgpu.IlgpuWeightAverage.Update(_device.Kernels, _network.Parameters, _average.View, Settings.AverageWeightAt(step));
    }

    public EpochTotals ReadEpochTotals(int start, int end)
    {
        var samples = end - start;
        if (samples <= 0 || _sampleLoss is null || _sampleCorrect is null)
            return new EpochTotals(0, 0, 0);
        _device.Accelerator.Synchronize();
        Synchronizations++;
        var flag = new int[1];
        _network.NonFinite.CopyToCPU(flag);
        ParametersDiverged = flag[0] != 0;
        var loss = new float[samples];
        var correct = new int[samples];
        _sampleLoss.View.SubView(start, samples).CopyToCPU(loss);
        _sampleCorrect.View.SubView(start, samples).CopyToCPU(correct);
        return EpochTotals.Sum(loss, correct);
    }

    public void Synchronize() => _device.Accelerator.Synchronize();

    public float[] Logits(IEngineDataset data, int[] indices, Augmentation view = default)
    {
        if (_average is null || _rawWhileAnswering is null)
            return AnswerWithParameters(data, indices, view);
        ArrayView1D<float, Stride1D.Dense> parameters = _network.Parameters;
        parameters.CopyTo(_rawWhileAnswering.View);
        _average.View.CopyTo(parameters);
        try
        {
            return AnswerWithParameters(data, indices, view);
        }
        finally
        {
            _rawWhileAnswering.View.CopyTo(parameters);
        }
    }

    private float[] AnswerWithParameters(IEngineDataset data, int[] indices, Augmentation view)
    {
        var dataset = (DeviceDataset)data;
        var a = _device.Accelerator;
        var classes = FashionMnistShape.Classes;
        var result = new float[indices.Length * classes];
        if (indices.Length == 0)
            return result;
        using var indexBuffer = a.Allocate1D(indices);
        using var output = a.Allocate1D<float>(result.Length);
        for (var start = 0; start < indices.Length; start += EvaluationBatch)
        {
            var count = Math.Min(EvaluationBatch, indices.Length - start);
            _network.Gather(dataset.Images, dataset.Labels, indexBuffer.View.SubView(start, count), count, view);
            _network.Forward(count, dropout: null);
            ArrayView1D<float, Stride1D.Dense> logits = _network.Logits.SubView(0, (long)count * classes);
            logits.CopyTo(output.View.SubView((long)start * classes, (long)count * classes));
        }
        a.Synchronize();
        output.View.CopyToCPU(result);
        return result;
    }

    float[] IEngineInspection.LayerOutput(int layer, int length) => Read(layer < 0 ? _network.Input : _network.Activation(layer, gradient: false), length);

    float[] IEngineInspection.LayerOutputGradient(int layer, int length) => Read(_network.Activation(layer, gradient: true), length);

    float[] IEngineInspection.ParameterGradient(string name) => Read(_network.Gradient(name), Model[name].Length);

    private float[] Read(ArrayView<float> view, int length)
    {
        _device.Accelerator.Synchronize();
        var result = new float[length];
        view.SubView(0, length).CopyToCPU(result);
        return result;
    }

    public void Dispose()
    {
        _order?.Dispose();
        _sampleLoss?.Dispose();
        _sampleCorrect?.Dispose();
        _average?.Dispose();
        _rawWhileAnswering?.Dispose();
        _network.Dispose();
        if (_ownsDevice)
            _device.Dispose();
    }

    /// <summary>The accelerator this engine runs on (bench profiles its kernels).</summary>
    public ComputeDevice Device => _device;
}
