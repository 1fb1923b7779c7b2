using System.Text.Json;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Export;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace FashionGpu.Tests.Export;

/// <summary>
/// Exported models run by ONNX Runtime (CPU) over the 2,000 training images of the bundled sample: every top-1 class
/// equals the engine's (what `evaluate` predicts) and every probability is within 1e-5; the graph declares its opset,
/// names and shapes, and passes the structural rules of the ONNX checker that apply to it.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Models => new()
    {
        ModelPresets.Get("seed").ToJson(),
        """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "dropout", "rate": 0.25}, {"type": "conv2d", "filters": 16, "kernel": 5, "padding": "valid"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 32}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 10}]}""",
    };

    /// <summary>The model after one epoch on the sample (so batchnorm's running statistics and the weights are not their initial values).</summary>
    private static (ModelPlan Model, ModelState State, float[] Logits, LabeledImages Images) Trained(string json)
    {
        var model = Support.Models.Parse(json);
        var images = SampleData.Train;
        using var engine = new SimdEngine(model, new TrainingSettings { BatchSize = 32, Seed = 5 });
        using var data = engine.Upload(images);
        engine.BeginEpoch(data, DataSplit.EpochOrder(Enumerable.Range(0, images.Count).ToArray(), 5, 0), 0);
        for (var start = 0; start < images.Count; start += 32)
            engine.TrainStep(start, Math.Min(32, images.Count - start), 1e-3);
        return (model, engine.ReadState(), engine.Logits(data, Enumerable.Range(0, images.Count).ToArray()), images);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ONNX_Runtime_gives_the_engine_s_answers(string json)
    {
        var (model, state, logits, images) = Trained(json);
        var path = _temp.File("model.onnx");
        OnnxExport.Write(path, OnnxExport.Build(model, state, OnnxExport.Metadata(model, null, 0.5)));

        using var session = new InferenceSession(path);
        var input = Array.ConvertAll(images.Pixels, p => (float)p);
        using var tensor = OrtValue.CreateTensorValueFromMemory(input, [images.Count, 1, 28, 28]);
        using var options = new RunOptions();
        using var outputs = session.Run(options, ["image"], [tensor], ["logits", "probabilities"]);
        var onnxProbabilities = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(images.Count * 10, onnxProbabilities.Length);
        var agree = 0;
        for (var i = 0; i < images.Count; i++)
        {
            var want = LogitMetrics.Probabilities(logits, i);
            var got = onnxProbabilities.AsSpan(i * 10, 10).ToArray();
            for (var c = 0; c < 10; c++)
                Assert.True(Math.Abs(want[c] - got[c]) <= 1e-5, $"image {i} class {c}: ONNX Runtime {got[c]}, engine {want[c]}");
            Assert.Equal(Array.IndexOf(want, want.Max()), Array.IndexOf(got, got.Max()));
            agree++;
        }
        Assert.Equal(images.Count, agree);
        Assert.Equal("0.5", session.ModelMetadata.CustomMetadataMap["test_accuracy"]);
        Assert.Equal(FashionMnistShape.ClassNames, JsonSerializer.Deserialize<string[]>(session.ModelMetadata.CustomMetadataMap["class_names"]));
        Assert.Equal(model.Definition, ModelDefinition.Parse(session.ModelMetadata.CustomMetadataMap["model"], "metadata"));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_graph_is_well_formed(string json)
    {
        var model = Support.Models.Parse(json);
        var path = _temp.File("model.onnx");
        OnnxExport.Write(path, OnnxExport.Build(model, ModelState.Fresh(model, 1), OnnxExport.Metadata(model, null, null), opset: 15));
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(15, Assert.Single(proto.OpsetImport, o => o.Domain == "").Version);
        var graph = proto.Graph;
        var input = Assert.Single(graph.Input);
        Assert.Equal("image", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal(["N", "1", "28", "28"], input.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString()));
        Assert.Equal(["logits", "probabilities"], graph.Output.Select(o => o.Name));
        Assert.All(graph.Output, o => Assert.Equal(["N", "10"], o.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString())));

        // The checker's rules for a graph: names unique, every input defined before use (graph input, initializer or an
        // earlier node's output: topological order), every output produced, initializers sized by their dims.
        var defined = new HashSet<string> { "image" };
        foreach (var initializer in graph.Initializer)
        {
            Assert.True(defined.Add(initializer.Name), $"initializer {initializer.Name} defined twice");
            Assert.Equal(initializer.Dims.Aggregate(1L, (a, b) => a * b) * 4, initializer.RawData.Length);
        }
        Assert.Equal(model.Parameters.Count(p => p.Trainable || p.Name.Contains("running", StringComparison.Ordinal)) + 1, graph.Initializer.Count);
        Assert.Equal(graph.Node.Count, graph.Node.Select(n => n.Name).Distinct().Count());
        foreach (var node in graph.Node)
        {
            Assert.All(node.Input, i => Assert.True(defined.Contains(i), $"{node.Name} ({node.OpType}) reads {i} before it is defined"));
            Assert.All(node.Output, o => Assert.True(defined.Add(o), $"{o} is written twice"));
            Assert.Contains(node.OpType, new[] { "Mul", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "GlobalAveragePool", "Gemm", "Softmax" });
        }
        Assert.All(graph.Output, o => Assert.Contains(o.Name, defined));
        Assert.Contains(proto.MetadataProps, p => p.Key == "model");
    }

    /// <summary>
    /// ONNX's schema is proto2: an attribute whose value field is missing from the wire has no value for a proto2
    /// reader (OpenCV rejects such a model). Read from the bytes alone, every attribute of every node carries the value
    /// field its type names.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Every_attribute_carries_its_value_on_the_wire(string json)
    {
        var model = Support.Models.Parse(json);
        var path = _temp.File("model.onnx");
        OnnxExport.Write(path, OnnxExport.Build(model, ModelState.Fresh(model, 1), OnnxExport.Metadata(model, null, null)));

        // ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4, NodeProto.attribute = 5; AttributeProto:
        // name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20 (FLOAT = 1, INT = 2, STRING = 3, FLOATS = 6, INTS = 7).
        var valueField = new Dictionary<ulong, int> { [1] = 2, [2] = 3, [3] = 4, [6] = 7, [7] = 8 };
        var graph = Assert.Single(new ProtobufWire(File.ReadAllBytes(path)).Messages(7));
        var attributes = 0;
        foreach (var node in graph.Messages(1))
            foreach (var attribute in node.Messages(5))
            {
                var name = $"{node.String(4)}.{attribute.String(1)}";
                var type = Assert.Single(attribute.All(20)).Varint;
                Assert.True(valueField.TryGetValue(type, out var field), $"{name}: attribute type {type}");
                Assert.True(attribute.All(field).Any(f => f.WireType != 2 || f.Bytes.Length > 0), $"{name} has no value on the wire");
                attributes++;
            }
        Assert.True(attributes >= 8, $"only {attributes} attributes");
    }
}
