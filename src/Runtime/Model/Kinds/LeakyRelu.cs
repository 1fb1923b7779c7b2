namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>leaky_relu: x where x &gt; 0, slope·x elsewhere (NaN stays NaN), as PyTorch's LeakyReLU.</summary>
public sealed class LeakyRelu : LayerKind
{
    public override string Name => "leaky_relu";
    public override string Summary => "x where x > 0, slope·x elsewhere (slope in [0, 1), default 0.01)";

    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Number("slope", SettingRange.Fraction, l => l.Slope, (l, v) => l with { Slope = v }, fallback: 0.01f)];

    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(input, input.Size);

    // An alpha of 0 cannot be written (ONNX's default, 0.01, would stand in for it): a slope of 0 is a ReLU.
    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [l.Slope == 0f ? new("Relu") : new("LeakyRelu", OnnxAttribute.Real("alpha", l.Slope))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) =>
        new("LeakyReLU", [], new Dictionary<string, object> { ["negative_slope"] = (double)l.Slope });
}
