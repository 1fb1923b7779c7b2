namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>avgpool: the mean of each 2x2 window, stride 2, floor mode (PyTorch's AvgPool2d(2)).</summary>
public sealed class AvgPool : LayerKind
{
    public override string Name => "avgpool";
    public override string Summary => "2x2 average pooling, stride 2, floor mode (size: 2)";

    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Int("size", "2 (2x2 windows, stride 2)", i => i == 2, l => l.Size, (l, v) => l with { Size = v }, fallback: 2)];

    public override string Describe(LayerDefinition l) => $"avgpool {l.Size}x{l.Size}";

    public override LayerShape Plan(LayerDefinition l, TensorShape input)
    {
        var output = Pooling.Halve(input);
        return LayerShape.Same(output, 4L * output.Size);
    }

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("AveragePool", OnnxAttribute.Of("kernel_shape", 2, 2), OnnxAttribute.Of("strides", 2, 2))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("AvgPool2d", 2);
}
