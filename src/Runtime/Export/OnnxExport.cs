using System.Globalization;
using System.Runtime.InteropServices;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;
using Google.Protobuf;
using Onnx;

namespace FashionGpu.Runtime.Export;

/// <summary>
/// A planned model and its weights as an ONNX graph in inference mode: input `image` float32 [N, 1, 28, 28] with pixel
/// values 0..255 (the model's scale is a Mul inside the graph), outputs `logits` and `probabilities` [N, 10]. One node
/// (or two) per layer: Conv, BatchNormalization (running statistics), Relu, MaxPool, Flatten, GlobalAveragePool +
/// Flatten, Gemm (transB); dropout is left out. The messages are OnnxSharp's generated ONNX classes, written with
/// Google.Protobuf.
/// </summary>
public static class OnnxExport
{
    public const int DefaultOpset = 17;
    public const int MinimumOpset = 13;
    public const int MaximumOpset = 21;
    public const string Input = "image";
    public const string Logits = "logits";
    public const string Probabilities = "probabilities";

    private const int Float = (int)TensorProto.Types.DataType.Float;

    /// <summary>The IR version that goes with an opset (ONNX's versioning table).</summary>
    public static long IrVersionFor(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    public static ModelProto Build(ModelPlan model, ModelState state, IReadOnlyDictionary<string, string> metadata, int opset = DefaultOpset)
    {
        if (opset is < MinimumOpset or > MaximumOpset)
            throw new FashionGpuException($"opset {opset} is not supported; use {MinimumOpset} to {MaximumOpset} (default {DefaultOpset})");
        var graph = new GraphProto { Name = "fashiongpu" };
        graph.Input.Add(Value(Input, 1, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide));
        graph.Output.Add(Value(Logits, FashionMnistShape.Classes));
        graph.Output.Add(Value(Probabilities, FashionMnistShape.Classes));

        graph.Initializer.Add(Tensor("scale", [], [model.PixelScale]));
        var x = "scaled";
        graph.Node.Add(Node("Mul", "scale_pixels", [Input, "scale"], [x]));
        var last = model.Layers[^1].Index;
        foreach (var layer in model.Layers)
        {
            var name = layer.Name ?? $"{layer.Definition.Type}{layer.Index + 1}";
            var nodes = layer.Kind.Onnx(layer.Definition, layer.Input);
            if (nodes.Count == 0)
                continue; // the identity in inference (dropout)
            for (var n = 0; n < nodes.Count; n++)
            {
                var node = nodes[n];
                var y = n < nodes.Count - 1 ? $"{name}_{node.Operator.ToLowerInvariant()}" : layer.Index == last ? Logits : name;
                var inputs = new List<string> { x };
                foreach (var suffix in node.Parameters)
                {
                    var t = layer.Parameter(suffix);
                    graph.Initializer.Add(Tensor(t.Name, t.Shape, state.Parameters.AsSpan(t.Offset, t.Length)));
                    inputs.Add(t.Name);
                }
                graph.Node.Add(Node(node.Operator, n == 0 ? name : $"{name}_{n}", [.. inputs], [y], [.. node.Attributes.Select(Attribute)]));
                x = y;
            }
        }
        graph.Node.Add(Node("Softmax", "softmax", [Logits], [Probabilities], Int("axis", 1)));

        var proto = new ModelProto
        {
            IrVersion = IrVersionFor(opset),
            ProducerName = "fashiongpu",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            DocString = "Fashion-MNIST classifier trained by fashiongpu: image [N,1,28,28] of pixels 0..255 → logits, probabilities [N,10]",
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    /// <summary>Writes the model atomically (a temporary file renamed over the target).</summary>
    public static void Write(string path, ModelProto proto) => AtomicFile.Write(path, proto.WriteTo);

    /// <summary>A tensor value [N, dims...] with the batch as the symbolic dimension N.</summary>
    private static ValueInfoProto Value(string name, params int[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = Float, Shape = shape } } };
    }

    private static TensorProto Tensor(string name, int[] dims, ReadOnlySpan<float> values)
    {
        var tensor = new TensorProto { Name = name, DataType = Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw data is little-endian");
        foreach (var d in dims)
            tensor.Dims.Add(d);
        return tensor;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Attribute(OnnxAttribute a) =>
        a.Ints is { } ints ? Ints(a.Name, ints) : a.Int is { } i ? Int(a.Name, i) : FloatAttribute(a.Name, a.Float!.Value);

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    // ONNX's schema is proto2, where an attribute's value is present or not; these classes are proto3, which leaves a
    // zero out of the wire, so a zero-valued attribute would reach readers (OpenCV's, say) without its value. An
    // attribute that would be zero is left out instead, which means the operator's default wherever one is written.
    private static AttributeProto Int(string name, long value) => value != 0
        ? new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value }
        : throw new ArgumentOutOfRangeException(nameof(value), $"attribute {name} would be written without its value; leave it out");

    private static AttributeProto FloatAttribute(string name, float value) => BitConverter.SingleToInt32Bits(value) != 0
        ? new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value }
        : throw new ArgumentOutOfRangeException(nameof(value), $"attribute {name} would be written without its value; leave it out");

    /// <summary>What an exported model says about itself: class names, the model definition, training, test accuracy.</summary>
    /// <param name="testAccuracy">The model's own accuracy on the test set.</param>
    /// <param name="tta">A test-time augmentation's accuracy: a separate key, since the graph itself does no augmentation.</param>
    public static Dictionary<string, string> Metadata(ModelPlan model, CheckpointInfo? info, double? testAccuracy, (string Mode, double Accuracy)? tta = null)
    {
        var metadata = new Dictionary<string, string>
        {
            ["class_names"] = System.Text.Json.JsonSerializer.Serialize(FashionMnistShape.ClassNames),
            ["model"] = model.Definition.ToJson(),
            ["input"] = "image: float32 [N, 1, 28, 28], pixel values 0..255 (light on dark, as Fashion-MNIST)",
        };
        if (info is not null)
        {
            metadata["training"] = System.Text.Json.JsonSerializer.Serialize(info.Config, new System.Text.Json.JsonSerializerOptions(CheckpointInfo.Json) { WriteIndented = false });
            metadata["epoch"] = info.Epoch.ToString(CultureInfo.InvariantCulture);
            if (info.ValidationAccuracy is { } v)
                metadata["validation_accuracy"] = v.ToString("R", CultureInfo.InvariantCulture);
        }
        if (testAccuracy is { } t)
            metadata["test_accuracy"] = t.ToString("R", CultureInfo.InvariantCulture);
        if (tta is { } augmented)
            metadata[$"test_accuracy_with_{augmented.Mode.Replace(',', '_')}_tta"] = augmented.Accuracy.ToString("R", CultureInfo.InvariantCulture);
        return metadata;
    }
}
