using System.Text.Json;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Ilgpu;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// One training step against PyTorch (float64) in a fixture file: Fixtures/reference_step.json (the seed model on raw
/// pixels, made by make_reference_step.py) and Fixtures/model_step.json (the model in model_step_model.json: two convs
/// with `same` padding, batchnorm after the first and after the second's max-pool (conv + pool fused), two dropout
/// layers, global average pooling, batchnorm on a dense layer;
/// made by make_model_step.py): every activation, every gradient, the running statistics and the Adam update.
/// Tolerance: 1e-4·max|tensor| per element and 1e-4·Σ|tensor| for the tensor's sum; Adam updates within 1% of the
/// learning rate per element and 1e-5·Σ|update| for their sum.
/// </summary>
public sealed class StepFixture
{
    private const double Relative = 1e-4;

    private sealed record Tensor(int[] Shape, int Stride, double[] Values, double Sum, double AbsSum, double MaxAbs);

    private StepFixture(string file, ModelPlan model)
    {
        Fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", file))).RootElement;
        Model = model;
    }

    /// <summary>The seed model on raw pixels (tensors named as make_reference_step.py names them).</summary>
    public static StepFixture Seed { get; } = new("reference_step.json", Models.RawSeed);

    /// <summary>The model of model_step_model.json (tensors named out.K, grad_out.K, grad.P, update.P, running.P).</summary>
    public static StepFixture BatchNormModel { get; } = FromModelFile("model_step.json");

    /// <summary>The model of kinds_step_model.json: the layer kinds added through the registry (leaky_relu, avgpool) among the others.</summary>
    public static StepFixture KindsModel { get; } = FromModelFile("kinds_step.json");

    private static StepFixture FromModelFile(string file)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", file))).RootElement;
        return new StepFixture(file, new ModelPlan(ModelDefinition.Read(json.GetProperty("model"), file)));
    }

    public JsonElement Fixture { get; }
    public ModelPlan Model { get; }

    public int Batch => Fixture.GetProperty("batch").GetInt32();
    public ulong RandomSeed => (ulong)Fixture.GetProperty("seed").GetInt32();
    public byte[] Images => Fixture.GetProperty("images").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
    public byte[] Labels => Fixture.GetProperty("labels").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();

    public TrainingSettings Settings => new()
    {
        BatchSize = Batch, Seed = RandomSeed, LearningRate = Fixture.GetProperty("learning_rate").GetDouble(),
    };

    /// <summary>The mask of the model's first dropout layer at the fixture's step.</summary>
    public DropoutParameters Dropout => Settings.DropoutAt(Fixture.GetProperty("step").GetInt32(), 0, (float)Fixture.GetProperty("dropout").GetDouble());

    public bool Has(string name) => Fixture.GetProperty("tensors").TryGetProperty(name, out _);

    private Tensor Want(string name)
    {
        var t = Fixture.GetProperty("tensors").GetProperty(name);
        return new Tensor(
            t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            t.GetProperty("stride").GetInt32(),
            t.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            t.GetProperty("sum").GetDouble(), t.GetProperty("abs_sum").GetDouble(), t.GetProperty("max_abs").GetDouble());
    }

    public int Length(string name) => Want(name).Shape.Aggregate(1, (a, b) => a * b);

    public void Check(string name, float[] got, double relative = Relative, double absolute = 1e-6, double? sumRelative = null)
    {
        var want = Want(name);
        Assert.Equal(want.Shape.Aggregate(1, (a, b) => a * b), got.Length);
        var sampled = Enumerable.Range(0, want.Values.Length).Select(i => got[i * want.Stride]).ToArray();
        Close.All(name, want.Values, sampled, Enumerable.Repeat(want.MaxAbs, sampled.Length).ToArray(), relative, absolute);
        var sum = got.Sum(v => (double)v);
        var sumTolerance = (sumRelative ?? relative) * want.AbsSum + absolute;
        Assert.True(Math.Abs(sum - want.Sum) <= sumTolerance,
            $"{name}: sum {sum} differs from PyTorch's {want.Sum} by more than {sumTolerance}");
    }

    public static float[] Read<T>(ComputeDevice device, ArrayView<float> view, int length)
    {
        device.Accelerator.Synchronize();
        var result = new float[length];
        view.SubView(0, length).CopyToCPU(result);
        return result;
    }

    /// <summary>
    /// The fixture's weights: FashionGpu's initialisation with its seed, then biases and batchnorm weights set to small
    /// values (batchnorm weights around 1) from another stream.
    /// </summary>
    public ModelState InitialState()
    {
        var state = ModelState.Fresh(Model, RandomSeed);
        var offset = (ulong)Fixture.GetProperty("bias_stream_offset").GetInt32();
        var scale = Fixture.GetProperty("bias_scale").GetDouble();
        for (var t = 0; t < Model.Parameters.Count; t++)
        {
            var tensor = Model.Parameters[t];
            if (!tensor.Trainable || tensor.Init == ParameterInit.Glorot)
                continue;
            var key = CounterRng.Key(RandomSeed, CounterRng.InitStream + offset + (ulong)t);
            var centre = tensor.Init == ParameterInit.Ones ? 1.0 : 0.0;
            for (var i = 0; i < tensor.Length; i++)
                state.Parameters[tensor.Offset + i] = (float)((CounterRng.UniformDouble(key, (ulong)i) - 0.5) * scale + centre);
        }
        return state;
    }

    private (IEngineDataset Data, int[] All, ModelState Before) Start(IEngine engine)
    {
        var data = engine.Upload(new LabeledImages(Images, Labels, "fixture"));
        var before = InitialState();
        engine.LoadState(before);
        return (data, Enumerable.Range(0, Batch).ToArray(), before);
    }

    private void CheckUpdateAndLoss(IEngine engine, ModelState before)
    {
        var totals = engine.ReadEpochTotals(0, Batch);
        var loss = Fixture.GetProperty("loss").GetDouble();
        Assert.Equal(loss, totals.MeanLoss, 1e-4 * loss);
        var after = engine.ReadState();
        Assert.Equal(1, after.Step);
        foreach (var p in Model.Parameters)
        {
            var values = Enumerable.Range(p.Offset, p.Length);
            // Adam's first step is ±lr wherever the gradient is not tiny against ε, so a gradient that is zero in exact
            // arithmetic (a bias right before batchnorm, which cannot change the output) has no comparable update.
            if (p.Trainable && Want("grad." + p.Name).MaxAbs < 1e-9)
                continue;
            if (p.Trainable)
                Check("update." + p.Name, values.Select(i => after.Parameters[i] - before.Parameters[i]).ToArray(),
                    relative: 0, absolute: 0.01 * engine.Settings.LearningRate, sumRelative: 1e-5);
            else
                Check("running." + p.Name, values.Select(i => after.Parameters[i]).ToArray());
        }
    }

    /// <summary>The seed model through an engine's production path, one step, tensor by tensor.</summary>
    public void CheckSeedStep(IEngine engine)
    {
        var batch = Batch;
        var inspect = (IEngineInspection)engine;
        var (data, all, before) = Start(engine);
        using var _ = data;
        var poolLength = batch * 5408;

        // Inference first: no dropout, so the block's output (layer 3) is the pooled activation itself.
        Check("eval_logits", engine.Logits(data, all));
        Check("pool", inspect.LayerOutput(3, poolLength));

        engine.BeginEpoch(data, all, 0);
        engine.TrainStep(0, batch, engine.Settings.LearningRate);
        Check("dropout", inspect.LayerOutput(3, poolLength));
        var hidden = inspect.LayerOutput(6, batch * 128);
        Check("hidden", hidden);
        Check("logits", inspect.LayerOutput(7, batch * 10));
        Check("d_logits", inspect.LayerOutputGradient(7, batch * 10));
        Check("d_hidden", inspect.LayerOutputGradient(6, batch * 128).Select((g, i) => hidden[i] > 0 ? g : 0f).ToArray());
        Check("d_dropout", inspect.LayerOutputGradient(3, poolLength));
        foreach (var p in Model.Parameters)
            Check("grad." + p.Name, inspect.ParameterGradient(p.Name));
        CheckUpdateAndLoss(engine, before);
    }

    /// <summary>Any model through an engine: every layer output and its gradient that the engine keeps, every parameter gradient.</summary>
    public void CheckModelStep(IEngine engine)
    {
        var inspect = (IEngineInspection)engine;
        var program = new EngineProgram(Model);
        var (data, all, before) = Start(engine);
        using var _ = data;
        Check("eval_logits", engine.Logits(data, all));

        engine.BeginEpoch(data, all, 0);
        engine.TrainStep(0, Batch, engine.Settings.LearningRate);
        var checkedLayers = 0;
        foreach (var layer in Model.Layers)
        {
            if (program.Ops.Any(op => op.First <= layer.Index && layer.Index < op.Last))
                continue;
            Check($"out.{layer.Index}", inspect.LayerOutput(layer.Index, Batch * layer.Output.Size));
            if (layer.Index >= Model.FirstTrainedLayer)
                Check($"grad_out.{layer.Index}", inspect.LayerOutputGradient(layer.Index, Batch * layer.Output.Size));
            checkedLayers++;
        }
        // Inside fused ops: a conv's output before its pool, a batchnorm's before its ReLU.
        Assert.True(checkedLayers >= Model.Layers.Count * 2 / 3, $"only {checkedLayers} of {Model.Layers.Count} layers' outputs could be checked");
        foreach (var p in Model.Parameters.Where(p => p.Trainable))
        {
            var got = inspect.ParameterGradient(p.Name);
            if (Want("grad." + p.Name).MaxAbs < 1e-9)
            {
                // A bias right before batchnorm has no gradient in exact arithmetic; in float what is left is the
                // rounding of a sum of terms of the size of the layer's output gradient.
                var layer = Model.Layers.Single(l => l.Parameters.Contains(p)).Index;
                Check("grad." + p.Name, got, absolute: 1e-5 * Want($"grad_out.{layer}").AbsSum);
            }
            else
                Check("grad." + p.Name, got);
        }
        CheckUpdateAndLoss(engine, before);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class ReferenceStepTests(CpuDeviceFixture gpu)
{
    [Fact]
    public void The_engine_step_matches_PyTorch_activation_by_activation()
    {
        using var engine = new IlgpuEngine(gpu.Device, StepFixture.Seed.Model, StepFixture.Seed.Settings);
        StepFixture.Seed.CheckSeedStep(engine);
    }

    [Fact]
    public void The_SIMD_engine_step_matches_PyTorch_activation_by_activation()
    {
        using var engine = new SimdEngine(StepFixture.Seed.Model, StepFixture.Seed.Settings);
        StepFixture.Seed.CheckSeedStep(engine);
    }

    [Fact]
    public void The_per_layer_kernels_chained_match_PyTorch_including_the_conv_activations()
    {
        var fixture = StepFixture.Seed;
        var model = fixture.Model;
        var batch = fixture.Batch;
        var k = gpu.Kernels;
        var p = fixture.InitialState().Parameters;
        ArrayView<float> Param(string name) => gpu.Upload(p.AsSpan(model[name].Offset, model[name].Length).ToArray());
        float[] Get(ArrayView<float> view) => gpu.Download(view);
        var dropout = fixture.Dropout;
        var (conv, pool, dense1, dense2) = (new ConvShape(batch, 1, 32, 28, 28, 3), new PoolShape(batch, 32, 26, 26), new DenseShape(batch, 5408, 128), new DenseShape(batch, 128, 10));
        var convLength = batch * 32 * 26 * 26;
        var poolLength = batch * 5408;

        var x = gpu.Upload(fixture.Images.Select(b => (float)b).ToArray());
        var convOut = gpu.Allocate<float>(convLength);
        var pooled = gpu.Allocate<float>(poolLength);
        var argmax = gpu.Allocate<int>(poolLength);
        var hidden = gpu.Allocate<float>(batch * 128);
        var logits = gpu.Allocate<float>(batch * 10);
        k.ConvForward(x, Param("conv1.weight"), Param("conv1.bias"), convOut, conv, relu: true);
        fixture.Check("conv", Get(convOut));
        IlgpuMaxPool.Forward(k, convOut, pooled, argmax, pool);
        fixture.Check("pool", Get(pooled));
        IlgpuDropout.Apply(k, pooled, dropout, backward: false);
        fixture.Check("dropout", Get(pooled));
        k.DenseForward(pooled, Param("dense1.weight"), Param("dense1.bias"), hidden, dense1, relu: true);
        fixture.Check("hidden", Get(hidden));
        k.DenseForward(hidden, Param("dense2.weight"), Param("dense2.bias"), logits, dense2, relu: false);
        fixture.Check("logits", Get(logits));

        var dLogits = gpu.Allocate<float>(batch * 10);
        k.SoftmaxCrossEntropy(logits, gpu.Upload(fixture.Labels.Select(l => (int)l).ToArray()), dLogits,
            gpu.Allocate<float>(batch), gpu.Allocate<int>(batch), new LossShape(batch, 10));
        fixture.Check("d_logits", Get(dLogits));
        var (dW2, db2, dHidden) = (gpu.Allocate<float>(1280), gpu.Allocate<float>(10), gpu.Allocate<float>(batch * 128));
        k.DenseBackwardParameters(dLogits, hidden, dW2, db2, dense2);
        k.DenseBackwardInput(dLogits, Param("dense2.weight"), dHidden, reluMask: null, dense2);
        IlgpuRelu.Backward(k, hidden, dHidden, dHidden);
        fixture.Check("d_hidden", Get(dHidden));
        var (dW1, db1, dPool) = (gpu.Allocate<float>(128 * 5408), gpu.Allocate<float>(128), gpu.Allocate<float>(poolLength));
        k.DenseBackwardParameters(dHidden, pooled, dW1, db1, dense1);
        k.DenseBackwardInput(dHidden, Param("dense1.weight"), dPool, reluMask: null, dense1);
        fixture.Check("d_dropout", Get(dPool));
        IlgpuDropout.Apply(k, dPool, dropout, backward: true);
        fixture.Check("d_pool", Get(dPool));
        var dConv = gpu.Allocate<float>(convLength);
        IlgpuMaxPool.Backward(k, dPool, argmax, dConv, pool);
        IlgpuRelu.Backward(k, convOut, dConv, dConv);
        fixture.Check("d_conv", Get(dConv));
        var (dWc, dbc) = (gpu.Allocate<float>(288), gpu.Allocate<float>(32));
        k.ConvBackwardParameters(x, dConv, dWc, dbc, conv);
        foreach (var (name, view) in new[] { ("conv1.weight", dWc), ("conv1.bias", dbc), ("dense1.weight", dW1), ("dense1.bias", db1),
                     ("dense2.weight", dW2), ("dense2.bias", db2) })
            fixture.Check("grad." + name, Get(view));
    }
}

[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledReferenceStepTests(GroupedCpuDeviceFixture grouped)
{
    [Fact]
    public void The_engine_step_on_tiled_split_K_GEMMs_matches_PyTorch()
    {
        using var engine = new IlgpuEngine(grouped.Device, StepFixture.Seed.Model, StepFixture.Seed.Settings);
        StepFixture.Seed.CheckSeedStep(engine);
    }
}

/// <summary>
/// Each model fixture through both engines: model_step.json (batchnorm, pooling, dropout, global average pooling) and
/// kinds_step.json (leaky_relu and avgpool, the kinds added through the registry, among the others).
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class ModelStepTests(CpuDeviceFixture gpu)
{
    public static TheoryData<string> Fixtures => new("model_step.json", "kinds_step.json");

    private static StepFixture Of(string file) => file == "kinds_step.json" ? StepFixture.KindsModel : StepFixture.BatchNormModel;

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_ILGPU_engine_runs_the_model_step_as_PyTorch_does(string file)
    {
        var fixture = Of(file);
        using var engine = new IlgpuEngine(gpu.Device, fixture.Model, fixture.Settings);
        fixture.CheckModelStep(engine);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_SIMD_engine_runs_the_model_step_as_PyTorch_does(string file)
    {
        var fixture = Of(file);
        using var engine = new SimdEngine(fixture.Model, fixture.Settings);
        fixture.CheckModelStep(engine);
    }
}

[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledModelStepTests(GroupedCpuDeviceFixture grouped)
{
    [Fact]
    public void The_ILGPU_engine_on_tiled_GEMMs_runs_a_batchnorm_model_step_as_PyTorch_does()
    {
        var fixture = StepFixture.BatchNormModel;
        using var engine = new IlgpuEngine(grouped.Device, fixture.Model, fixture.Settings);
        fixture.CheckModelStep(engine);
    }
}
