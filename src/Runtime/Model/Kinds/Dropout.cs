namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>dropout: inverted dropout at the given rate while training (masks from the counter RNG), the identity after.</summary>
public sealed class Dropout : LayerKind
{
    public override string Name => "dropout";
    public override string Summary => "inverted dropout while training (rate in [0, 1)); the identity in inference";

    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Number("rate", SettingRange.Fraction, l => l.Rate, (l, v) => l with { Rate = v })];

    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(input);
    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) => [];
    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("Dropout", (double)l.Rate);
}
