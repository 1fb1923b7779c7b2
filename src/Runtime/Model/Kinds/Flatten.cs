namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>flatten: a C x H x W map as C·H·W features (no data moves).</summary>
public sealed class Flatten : LayerKind
{
    public override string Name => "flatten";
    public override string Summary => "a channels x height x width map as one vector of features";
    public override bool MovesData => false;
    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(TensorShape.Features(input.Size));
    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) => [new("Flatten", OnnxAttribute.One("axis", 1))];
    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("Flatten");
}
