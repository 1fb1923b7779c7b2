namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>dense: y = x·Wᵀ + b on flat input; Glorot-uniform weights.</summary>
public sealed class Dense : LayerKind
{
    public override string Name => "dense";
    public override string Summary => "fully connected, y = x·Wᵀ + b (units: 1 to 65536); needs a flat input";
    public override string ParameterPrefix => "dense";
    public override IReadOnlyList<string> DecayedParameters => ["weight"];
    public override long BackwardFlops(long forward, bool inputGradient) => forward * (inputGradient ? 2 : 1);

    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Int("units", "an integer from 1 to 65536", i => i is >= 1 and <= 65536, l => l.Units, (l, v) => l with { Units = v })];

    public override LayerShape Plan(LayerDefinition l, TensorShape input)
    {
        if (!input.Flat)
            throw NotFitting($"needs a flat input, but its input is {input}; add {{\"type\": \"flatten\"}} or {{\"type\": \"global_avg_pool\"}} before it");
        return new LayerShape(TensorShape.Features(l.Units),
        [
            new ParameterSpec("weight", [l.Units, input.Channels], input.Channels, l.Units, ParameterInit.Glorot),
            new ParameterSpec("bias", [l.Units], 0, 0, ParameterInit.Zeros),
        ], 2L * input.Channels * l.Units);
    }

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("Gemm", ["weight", "bias"], [OnnxAttribute.One("transB", 1)])];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("Linear", input.Channels, l.Units);
}
