using System.Text.Json;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// One training step of the whole model against PyTorch (float64) in Fixtures/reference_step.json (made by
/// Fixtures/make_reference_step.py): every activation, every gradient and the Adam update; once through the engine's
/// fused network (blocked GEMMs, and tiled GEMMs with split-K on a 64-thread-group CPU accelerator) and once through
/// the per-layer kernels chained by hand. Tolerance: 1e-4·max|tensor| per element and 1e-4·Σ|tensor| for the
/// tensor's sum; Adam updates within 1% of the learning rate per element and 1e-5·Σ|update| for their sum.
/// </summary>
public static class ReferenceStep
{
    private const double Relative = 1e-4;

    private sealed record Tensor(int[] Shape, int Stride, double[] Values, double Sum, double AbsSum, double MaxAbs);

    public static JsonElement Fixture { get; } =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference_step.json"))).RootElement;

    public static int Batch => Fixture.GetProperty("batch").GetInt32();
    public static ulong Seed => (ulong)Fixture.GetProperty("seed").GetInt32();
    public static byte[] Images => Fixture.GetProperty("images").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
    public static byte[] Labels => Fixture.GetProperty("labels").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();

    public static TrainingSettings Settings => new()
    {
        BatchSize = Batch, Seed = Seed, DropoutRate = (float)Fixture.GetProperty("dropout").GetDouble(),
        LearningRate = Fixture.GetProperty("learning_rate").GetDouble(),
    };

    public static DropoutParameters Dropout =>
        new(CounterRng.Key(Seed, CounterRng.DropoutStream + (ulong)Fixture.GetProperty("step").GetInt32()), Settings.DropoutRate);

    private static Tensor Want(string name)
    {
        var t = Fixture.GetProperty("tensors").GetProperty(name);
        return new Tensor(
            t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            t.GetProperty("stride").GetInt32(),
            t.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            t.GetProperty("sum").GetDouble(), t.GetProperty("abs_sum").GetDouble(), t.GetProperty("max_abs").GetDouble());
    }

    public static void Check(string name, float[] got, double relative = Relative, double absolute = 1e-6, double? sumRelative = null)
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

    /// <summary>The fixture's weights: FashionGpu's Glorot initialisation with its seed, biases set non-zero.</summary>
    public static ModelState InitialState(ModelArchitecture model)
    {
        var state = ModelState.Fresh(model, Seed);
        var offset = (ulong)Fixture.GetProperty("bias_stream_offset").GetInt32();
        var scale = Fixture.GetProperty("bias_scale").GetDouble();
        for (var t = 0; t < model.Parameters.Count; t++)
        {
            var tensor = model.Parameters[t];
            if (!tensor.IsBias)
                continue;
            var key = CounterRng.Key(Seed, CounterRng.InitStream + offset + (ulong)t);
            for (var i = 0; i < tensor.Length; i++)
                state.Parameters[tensor.Offset + i] = (float)((CounterRng.UniformDouble(key, (ulong)i) - 0.5) * scale);
        }
        return state;
    }

    /// <summary>An engine (the production path) through one step, checked tensor by tensor.</summary>
    public static void CheckEngineStep(IEngine engine)
    {
        var model = ModelArchitecture.Reference;
        var batch = Batch;
        var inspect = (IEngineInspection)engine;
        using var data = engine.Upload(new LabeledImages(Images, Labels, "fixture"));
        var before = InitialState(model);
        engine.LoadState(before);
        var all = Enumerable.Range(0, batch).ToArray();
        var poolLength = batch * ModelArchitecture.Flattened;

        // Inference first: no dropout, so the block's output is the pooled activation itself.
        Check("eval_logits", engine.Logits(data, all));
        Check("pool", inspect.Inspect("pool", poolLength));

        engine.BeginEpoch(data, all);
        engine.TrainStep(0, batch);
        Check("dropout", inspect.Inspect("pool", poolLength));
        Check("hidden", inspect.Inspect("hidden", batch * 128));
        Check("logits", inspect.Inspect("logits", batch * 10));
        Check("d_logits", inspect.Inspect("d_logits", batch * 10));
        Check("d_hidden", inspect.Inspect("d_hidden", batch * 128));
        Check("d_dropout", inspect.Inspect("d_dropout", poolLength));
        foreach (var p in model.Parameters)
            Check("grad." + p.Name, inspect.Inspect("grad." + p.Name, p.Length));

        var totals = engine.ReadEpochTotals(0, batch);
        var loss = Fixture.GetProperty("loss").GetDouble();
        Assert.Equal(loss, totals.MeanLoss, 1e-4 * loss);

        var after = engine.ReadState();
        Assert.Equal(1, after.Step);
        foreach (var p in model.Parameters)
        {
            var update = Enumerable.Range(p.Offset, p.Length).Select(i => after.Parameters[i] - before.Parameters[i]).ToArray();
            Check("update." + p.Name, update, relative: 0, absolute: 0.01 * engine.Settings.LearningRate, sumRelative: 1e-5);
        }
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class ReferenceStepTests(CpuDeviceFixture gpu)
{
    [Fact]
    public void The_engine_step_matches_PyTorch_activation_by_activation()
    {
        using var engine = new IlgpuEngine(gpu.Device, ReferenceStep.Settings);
        ReferenceStep.CheckEngineStep(engine);
    }

    [Fact]
    public void The_SIMD_engine_step_matches_PyTorch_activation_by_activation()
    {
        using var engine = new SimdEngine(ReferenceStep.Settings);
        ReferenceStep.CheckEngineStep(engine);
    }

    [Fact]
    public void The_per_layer_kernels_chained_match_PyTorch_including_the_conv_activations()
    {
        var model = ModelArchitecture.Reference;
        var batch = ReferenceStep.Batch;
        var k = gpu.Kernels;
        var p = ReferenceStep.InitialState(model).Parameters;
        ArrayView<float> Param(string name) => gpu.Upload(p.AsSpan(model[name].Offset, model[name].Length).ToArray());
        float[] Get(ArrayView<float> view) => gpu.Download(view);
        var dropout = ReferenceStep.Dropout;
        var (conv, pool, dense1, dense2) = (model.Conv(batch), model.Pool(batch), model.Dense1(batch), model.Dense2(batch));
        var convLength = batch * 32 * 26 * 26;
        var poolLength = batch * ModelArchitecture.Flattened;

        var x = gpu.Upload(ReferenceStep.Images.Select(b => (float)b).ToArray());
        var convOut = gpu.Allocate<float>(convLength);
        var pooled = gpu.Allocate<float>(poolLength);
        var argmax = gpu.Allocate<int>(poolLength);
        var hidden = gpu.Allocate<float>(batch * 128);
        var logits = gpu.Allocate<float>(batch * 10);
        k.ConvForward(x, Param("conv1.weight"), Param("conv1.bias"), convOut, conv, relu: true);
        ReferenceStep.Check("conv", Get(convOut));
        k.PoolForward(convOut, pooled, argmax, pool);
        ReferenceStep.Check("pool", Get(pooled));
        k.DropoutForward(pooled, dropout);
        ReferenceStep.Check("dropout", Get(pooled));
        k.DenseForward(pooled, Param("dense1.weight"), Param("dense1.bias"), hidden, dense1, relu: true);
        ReferenceStep.Check("hidden", Get(hidden));
        k.DenseForward(hidden, Param("dense2.weight"), Param("dense2.bias"), logits, dense2, relu: false);
        ReferenceStep.Check("logits", Get(logits));

        var dLogits = gpu.Allocate<float>(batch * 10);
        k.SoftmaxCrossEntropy(logits, gpu.Upload(ReferenceStep.Labels.Select(l => (int)l).ToArray()), dLogits,
            gpu.Allocate<float>(batch), gpu.Allocate<int>(batch), new LossShape(batch, 10));
        ReferenceStep.Check("d_logits", Get(dLogits));
        var (dW2, db2, dHidden) = (gpu.Allocate<float>(1280), gpu.Allocate<float>(10), gpu.Allocate<float>(batch * 128));
        k.DenseBackwardParameters(dLogits, hidden, dW2, db2, dense2);
        k.DenseBackwardInput(dLogits, Param("dense2.weight"), dHidden, reluMask: null, dense2);
        k.ReluBackward(hidden, dHidden);
        ReferenceStep.Check("d_hidden", Get(dHidden));
        var (dW1, db1, dPool) = (gpu.Allocate<float>(128 * 5408), gpu.Allocate<float>(128), gpu.Allocate<float>(poolLength));
        k.DenseBackwardParameters(dHidden, pooled, dW1, db1, dense1);
        k.DenseBackwardInput(dHidden, Param("dense1.weight"), dPool, reluMask: null, dense1);
        ReferenceStep.Check("d_dropout", Get(dPool));
        k.DropoutBackward(dPool, dropout);
        ReferenceStep.Check("d_pool", Get(dPool));
        var dConv = gpu.Allocate<float>(convLength);
        k.PoolBackward(dPool, argmax, dConv, pool);
        k.ReluBackward(convOut, dConv);
        ReferenceStep.Check("d_conv", Get(dConv));
        var (dWc, dbc) = (gpu.Allocate<float>(288), gpu.Allocate<float>(32));
        k.ConvBackwardParameters(x, dConv, dWc, dbc, conv);
        foreach (var (name, view) in new[] { ("conv1.weight", dWc), ("conv1.bias", dbc), ("dense1.weight", dW1), ("dense1.bias", db1),
                     ("dense2.weight", dW2), ("dense2.bias", db2) })
            ReferenceStep.Check("grad." + name, Get(view));
    }
}

[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledReferenceStepTests(GroupedCpuDeviceFixture grouped)
{
    [Fact]
    public void The_engine_step_on_tiled_split_K_GEMMs_matches_PyTorch()
    {
        using var engine = new IlgpuEngine(grouped.Device, ReferenceStep.Settings);
        ReferenceStep.CheckEngineStep(engine);
    }
}
