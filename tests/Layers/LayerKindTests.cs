using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Ilgpu;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Export;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// Every kind of <see cref="LayerKinds.All"/>, asked of the registry: its row here is a double-precision reference of
/// its forward and backward; the kind runs inside a probe model (conv2d 3@3x3 same → batchnorm → the layer → dense 10,
/// with flatten where shapes need it, so the layer gets an input gradient and fuses with nothing) through one training
/// step on both engines, and its output, its input gradient and its parameter gradients are checked against the row
/// (tolerance 1e-5 + 1e-4·|reference|); then the probe is exported and ONNX Runtime gives the engine's probabilities.
/// A kind without a row, or without an implementation in an engine, fails here.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class LayerKindTests(CpuDeviceFixture device)
{
    private const int Batch = 3;

    /// <summary>What a row's reference gets: the layer as planned, the batch's input and the layer's parameters before the step.</summary>
    private sealed record Case(PlannedLayer Layer, double[] X, Func<string, double[]> Parameter, double[] Observed)
    {
        public TensorShape In => Layer.Input;
        public TensorShape Out => Layer.Output;
        public ConvShape Conv => new(Batch, In.Channels, Layer.Definition.Filters, In.Height, In.Width, Layer.Definition.Kernel,
            Layer.Definition.SamePadding ? Layer.Definition.Kernel / 2 : 0);
        public PoolShape Pool => new(Batch, In.Channels, In.Height, In.Width);
    }

    /// <summary>A kind's row: its layer in the probe, forward y(x), and backward (dx and each parameter's gradient) from x, y and dy.</summary>
    private sealed record Row(string Layer, Func<Case, double[]> Forward, Func<Case, double[], double[], (double[] DX, Dictionary<string, double[]> Parameters)> Backward);

    private static readonly Dictionary<string, double[]> None = [];

    private static readonly Dictionary<string, Row> Rows = new()
    {
        ["conv2d"] = new("""{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "valid"}""",
            c => Reference.ConvForward(c.X, c.Parameter("weight"), c.Parameter("bias"), c.Conv, relu: false).Y,
            (c, y, dy) =>
            {
                var (dw, db, _, _) = Reference.ConvBackwardParameters(c.X, dy, c.Conv);
                return (Reference.ConvBackwardInput(dy, c.Parameter("weight"), c.Conv).DX, new() { ["weight"] = dw, ["bias"] = db });
            }),
        ["batchnorm"] = new("""{"type": "batchnorm"}""",
            c => Reference.BatchNormTraining(c.X, c.Parameter("weight"), c.Parameter("bias"), Batch, c.In.Channels, c.In.Spatial).Y,
            (c, y, dy) => BatchNormBackward(c.X, dy, c.Parameter("weight"), c.In.Channels, c.In.Spatial)),
        ["relu"] = new("""{"type": "relu"}""", c => c.X.Select(v => Math.Max(v, 0)).ToArray(),
            (c, y, dy) => (dy.Select((g, i) => y[i] > 0 ? g : 0).ToArray(), None)),
        ["maxpool"] = new("""{"type": "maxpool", "size": 2}""", c => Reference.PoolForward(c.X, c.Pool).Y,
            (c, y, dy) => (Reference.PoolBackward(dy, Reference.PoolForward(c.X, c.Pool).Argmax, c.Pool), None)),
        // The mask is the counter RNG's (tested on its own): read back from which outputs were kept, about 30 % dropped.
        ["dropout"] = new("""{"type": "dropout", "rate": 0.3}""",
            c =>
            {
                Assert.InRange(c.Observed.Count(v => v == 0), c.X.Length / 10, c.X.Length / 2);
                return c.X.Select((v, i) => c.Observed[i] == 0 ? 0 : v / 0.7).ToArray();
            },
            (c, y, dy) => (dy.Select((g, i) => y[i] == 0 ? 0 : g / 0.7).ToArray(), None)),
        ["flatten"] = new("""{"type": "flatten"}""", c => c.X, (c, y, dy) => (dy, None)),
        ["global_avg_pool"] = new("""{"type": "global_avg_pool"}""", c => Reference.GlobalAvgPool(c.X, Batch * c.In.Channels, c.In.Spatial),
            (c, y, dy) => (Enumerable.Range(0, c.X.Length).Select(i => dy[i / c.In.Spatial] / c.In.Spatial).ToArray(), None)),
        ["dense"] = new("""{"type": "dense", "units": 6}""",
            c => Reference.MatMul(c.X, Reference.Transpose(c.Parameter("weight"), c.Out.Size, c.In.Size), Batch, c.Out.Size, c.In.Size, c.Parameter("bias")).C,
            (c, y, dy) => (Reference.MatMul(dy, c.Parameter("weight"), Batch, c.In.Size, c.Out.Size).C, new()
            {
                ["weight"] = Reference.MatMul(Reference.Transpose(dy, Batch, c.Out.Size), c.X, c.Out.Size, c.In.Size, Batch).C,
                ["bias"] = Enumerable.Range(0, c.Out.Size).Select(j => Enumerable.Range(0, Batch).Sum(n => dy[n * c.Out.Size + j])).ToArray(),
            })),
        ["avgpool"] = new("""{"type": "avgpool"}""", c => AvgPool(c.X, c.Pool),
            (c, y, dy) => (Enumerable.Range(0, c.X.Length).Select(i => AvgPoolWindow(i, c.Pool) is { } o ? dy[o] / 4 : 0).ToArray(), None)),
        ["leaky_relu"] = new("""{"type": "leaky_relu", "slope": 0.1}""", c => c.X.Select(v => v > 0 ? v : 0.1 * v).ToArray(),
            (c, y, dy) => (dy.Select((g, i) => c.X[i] > 0 ? g : 0.1 * g).ToArray(), None)),
    };

    public static TheoryData<string> Kinds => new(LayerKinds.All.Select(k => k.Name));

    [Fact]
    public void Every_kind_has_a_row_here_and_an_implementation_in_each_engine()
    {
        Assert.Equal(LayerKinds.All.Select(k => k.Name).Order(), Rows.Keys.Order());
        // A kind that moves no data (flatten) never becomes an op; every other one runs on both engines.
        var running = LayerKinds.All.Where(k => k.MovesData).Select(k => k.Name).Order().ToArray();
        Assert.Equal(running, SimdLayer.Kinds.Select(k => k.Name).Order());
        Assert.Equal(running, IlgpuLayer.Kinds.Select(k => k.Name).Order());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kind_matches_its_reference_on_both_engines_and_exports(string kind)
    {
        var row = Rows[kind];
        var model = new ModelPlan(ModelDefinition.Parse(Probe(row.Layer), "probe"));
        var tested = model.Layers.First(l => l.Definition.Type == kind && l.Index >= 2);
        var settings = new TrainingSettings { BatchSize = Batch, Seed = 3 };
        using var simd = new SimdEngine(model, settings);
        using var ilgpu = new IlgpuEngine(device.Device, model, settings);
        foreach (IEngine engine in new IEngine[] { simd, ilgpu })
            Check(engine, model, tested, row);
    }

    /// <summary>
    /// conv2d 3@3x3 same → batchnorm → (flatten if the layer needs a flat input, avgpool before a ReLU) → the layer →
    /// (flatten if its output is a map) → dense 10.
    /// </summary>
    private static string Probe(string layer)
    {
        var layers = new List<string> { """{"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same"}""", """{"type": "batchnorm"}""" };
        var kind = LayerKinds.Named(System.Text.Json.JsonDocument.Parse(layer).RootElement.GetProperty("type").GetString()!)!;
        if (kind == LayerKinds.Dense)
            layers.Add("""{"type": "flatten"}""");
        // A ReLU right after a batchnorm runs inside the batchnorm's op, where its input is never seen.
        if (kind == LayerKinds.Relu)
            layers.Add("""{"type": "avgpool"}""");
        layers.Add(layer);
        var sofar = new ModelPlan(ModelDefinition.Parse(Model([.. layers, """{"type": "flatten"}""", """{"type": "dense", "units": 10}"""]), "probe"));
        if (!sofar.Layers[layers.Count - 1].Output.Flat)
            layers.Add("""{"type": "flatten"}""");
        layers.Add("""{"type": "dense", "units": 10}""");
        return Model(layers);
    }

    private static string Model(IEnumerable<string> layers) => $$"""{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{{string.Join(", ", layers)}}]}""";

    private static void Check(IEngine engine, ModelPlan model, PlannedLayer tested, Row row)
    {
        var images = new LabeledImages(SampleData.Train.Pixels[..(Batch * 784)], SampleData.Train.Labels[..Batch], "probe");
        using var data = engine.Upload(images);
        var order = Enumerable.Range(0, Batch).ToArray();
        var before = engine.ReadState();
        engine.BeginEpoch(data, order, 0);
        engine.TrainStep(0, Batch, engine.Settings.LearningRate);
        var inspect = (IEngineInspection)engine;
        var k = tested.Index;
        var x = TestData.ToDouble(inspect.LayerOutput(k - 1, Batch * tested.Input.Size));
        var y = TestData.ToDouble(inspect.LayerOutput(k, Batch * tested.Output.Size));
        var dy = TestData.ToDouble(inspect.LayerOutputGradient(k, Batch * tested.Output.Size));
        var dx = TestData.ToDouble(inspect.LayerOutputGradient(k - 1, Batch * tested.Input.Size));
        var c = new Case(tested, x, suffix => TestData.ToDouble(before.Parameters.AsSpan(tested.Parameter(suffix).Offset, tested.Parameter(suffix).Length).ToArray()), y);
        var where = $"{tested.Definition.Type} on {engine.DeviceId}";
        Close(row.Forward(c), y, $"{where}: output");
        var (wantDx, wantParameters) = row.Backward(c, y, dy);
        Close(wantDx, dx, $"{where}: input gradient");
        foreach (var (suffix, want) in wantParameters)
            Close(want, TestData.ToDouble(inspect.ParameterGradient(tested.Parameter(suffix).Name)), $"{where}: gradient of {suffix}");
        Assert.Equal(wantParameters.Count, tested.Parameters.Count(p => p.Trainable));

        // The exported graph gives the engine's inference probabilities.
        var logits = engine.Logits(data, order);
        var path = Path.Combine(Path.GetTempPath(), $"fashiongpu-kind-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Write(path, OnnxExport.Build(model, engine.ReadState(), OnnxExport.Metadata(model, null, null)));
            using var session = new InferenceSession(path);
            using var tensor = OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(images.Pixels, p => (float)p), [Batch, 1, 28, 28]);
            using var options = new RunOptions();
            using var outputs = session.Run(options, ["image"], [tensor], ["probabilities"]);
            var probabilities = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            for (var n = 0; n < Batch; n++)
            {
                var want = LogitMetrics.Probabilities(logits, n);
                for (var j = 0; j < 10; j++)
                    Assert.True(Math.Abs(want[j] - probabilities[n * 10 + j]) <= 1e-5, $"{where}: ONNX Runtime's probability {n},{j} is {probabilities[n * 10 + j]}, the engine's {want[j]}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Close(double[] want, double[] got, string what)
    {
        Assert.True(want.Length == got.Length, $"{what}: {got.Length} values, want {want.Length}");
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5 + 1e-4 * Math.Abs(want[i]), $"{what}[{i}]: {got[i]}, want {want[i]}");
    }

    /// <summary>Batchnorm's backward in training mode: dx = w/σ·(dy - mean(dy) - x̂·mean(dy·x̂)), dw = Σ dy·x̂, db = Σ dy.</summary>
    private static (double[] DX, Dictionary<string, double[]> Parameters) BatchNormBackward(double[] x, double[] dy, double[] w, int channels, int spatial)
    {
        var (dx, dw, db) = (new double[x.Length], new double[channels], new double[channels]);
        for (var ch = 0; ch < channels; ch++)
        {
            var at = Enumerable.Range(0, Batch).SelectMany(n => Enumerable.Range(0, spatial).Select(i => (n * channels + ch) * spatial + i)).ToArray();
            var mean = at.Average(i => x[i]);
            var sigma = Math.Sqrt(at.Average(i => (x[i] - mean) * (x[i] - mean)) + BatchNormShape.Epsilon);
            var hat = at.Select(i => (x[i] - mean) / sigma).ToArray();
            db[ch] = at.Sum(i => dy[i]);
            dw[ch] = at.Select((i, j) => dy[i] * hat[j]).Sum();
            for (var j = 0; j < at.Length; j++)
                dx[at[j]] = w[ch] / sigma * (dy[at[j]] - db[ch] / at.Length - hat[j] * dw[ch] / at.Length);
        }
        return (dx, new() { ["weight"] = dw, ["bias"] = db });
    }

    private static double[] AvgPool(double[] x, PoolShape s)
    {
        var y = new double[s.Batch * s.Channels * s.OutHeight * s.OutWidth];
        for (var i = 0; i < x.Length; i++)
            if (AvgPoolWindow(i, s) is { } o)
                y[o] += x[i] / 4;
        return y;
    }

    /// <summary>The output of the window input element <paramref name="i"/> falls in, or null where floor mode drops it.</summary>
    private static int? AvgPoolWindow(int i, PoolShape s)
    {
        var (ix, iy, plane) = (i % s.Width, i / s.Width % s.Height, i / (s.Width * s.Height));
        return iy / 2 < s.OutHeight && ix / 2 < s.OutWidth ? (plane * s.OutHeight + iy / 2) * s.OutWidth + ix / 2 : null;
    }
}
