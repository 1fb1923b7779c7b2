namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>global_avg_pool: the mean of each channel's map, as C features.</summary>
public sealed class GlobalAvgPool : LayerKind
{
    public override string Name => "global_avg_pool";
    public override string Summary => "the mean of each channel's map, as one feature per channel";

    public override LayerShape Plan(LayerDefinition l, TensorShape input)
    {
        NeedsImage(input);
        return LayerShape.Same(TensorShape.Features(input.Channels), input.Size);
    }

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("GlobalAveragePool"), new("Flatten", OnnxAttribute.One("axis", 1))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) =>
        new("Sequential", [], Children: [TorchModule.Of("AdaptiveAvgPool2d", 1), TorchModule.Of("Flatten")]);
}
