using System.Text.Json;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// The whole model, one training step on the CPU accelerator, against PyTorch (float64) in
/// Fixtures/reference_step.json (made by Fixtures/make_reference_step.py): every activation, every gradient and the
/// Adam update. Tolerance: 1e-4·max|tensor| per element and 1e-4·Σ|tensor| for the tensor's sum; Adam updates
/// within 1% of the learning rate per element and 1e-5·Σ|update| for their sum.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class ReferenceStepTests(CpuDeviceFixture gpu)
{
    private const double Relative = 1e-4;

    private sealed record Tensor(int[] Shape, int Stride, double[] Values, double Sum, double AbsSum, double MaxAbs);

    private static JsonElement Fixture { get; } =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference_step.json"))).RootElement;

    private static Tensor Want(string name)
    {
        var t = Fixture.GetProperty("tensors").GetProperty(name);
        return new Tensor(
            t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            t.GetProperty("stride").GetInt32(),
            t.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            t.GetProperty("sum").GetDouble(), t.GetProperty("abs_sum").GetDouble(), t.GetProperty("max_abs").GetDouble());
    }

    private static void Check(string name, float[] got, double relative = Relative, double absolute = 1e-6, double? sumRelative = null)
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

    private float[] Read(ArrayView<float> view, int length) => gpu.Download(view.SubView(0, length));

    private static ModelState InitialState(ModelArchitecture model)
    {
        var seed = (ulong)Fixture.GetProperty("seed").GetInt32();
        var state = ModelState.Fresh(model, seed);
        var offset = (ulong)Fixture.GetProperty("bias_stream_offset").GetInt32();
        var scale = Fixture.GetProperty("bias_scale").GetDouble();
        for (var t = 0; t < model.Parameters.Count; t++)
        {
            var tensor = model.Parameters[t];
            if (!tensor.IsBias)
                continue;
            var key = CounterRng.Key(seed, CounterRng.InitStream + offset + (ulong)t);
            for (var i = 0; i < tensor.Length; i++)
                state.Parameters[tensor.Offset + i] = (float)((CounterRng.UniformDouble(key, (ulong)i) - 0.5) * scale);
        }
        return state;
    }

    [Fact]
    public void One_training_step_matches_PyTorch_activation_by_activation()
    {
        var model = ModelArchitecture.Reference;
        var batch = Fixture.GetProperty("batch").GetInt32();
        var images = Fixture.GetProperty("images").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
        var labels = Fixture.GetProperty("labels").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
        var settings = new TrainingSettings
        {
            BatchSize = batch, Seed = (ulong)Fixture.GetProperty("seed").GetInt32(),
            DropoutRate = (float)Fixture.GetProperty("dropout").GetDouble(),
            LearningRate = Fixture.GetProperty("learning_rate").GetDouble(),
        };
        using var engine = new IlgpuEngine(gpu.Device, settings);
        using var data = engine.Upload(new LabeledImages(images, labels, "fixture"));
        var before = InitialState(model);
        engine.LoadState(before);
        var all = Enumerable.Range(0, batch).ToArray();
        var net = engine.Network;
        var (convLength, poolLength) = (batch * 32 * 26 * 26, batch * 5408);

        // Inference first: no dropout, so the pooled activations are still intact.
        Check("eval_logits", engine.Logits(data, all));
        Check("conv", Read(net.Conv, convLength));
        Check("pool", Read(net.Pool, poolLength));

        engine.BeginEpoch(data, all);
        engine.TrainStep(0, batch);
        Check("dropout", Read(net.Pool, poolLength));
        Check("hidden", Read(net.Hidden, batch * 128));
        Check("logits", Read(net.Logits, batch * 10));
        Check("d_logits", Read(net.DLogits, batch * 10));
        Check("d_hidden", Read(net.DHidden, batch * 128));
        Check("d_pool", Read(net.DPool, poolLength));
        Check("d_conv", Read(net.DConv, convLength));
        foreach (var p in model.Parameters)
            Check("grad." + p.Name, Read(net.Gradient(p.Name), p.Length));

        var totals = engine.ReadEpochTotals(0, batch);
        Assert.Equal(Fixture.GetProperty("loss").GetDouble(), totals.MeanLoss, 1e-4 * Fixture.GetProperty("loss").GetDouble());

        var after = engine.ReadState();
        Assert.Equal(1, after.Step);
        var lr = settings.LearningRate;
        foreach (var p in model.Parameters)
        {
            var update = Enumerable.Range(p.Offset, p.Length).Select(i => after.Parameters[i] - before.Parameters[i]).ToArray();
            Check("update." + p.Name, update, relative: 0, absolute: 0.01 * lr, sumRelative: 1e-5);
        }
    }
}
