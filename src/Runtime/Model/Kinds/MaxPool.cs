namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>maxpool: 2x2 windows, stride 2, floor mode; the first maximum (or NaN) of a window wins.</summary>
public sealed class MaxPool : Pool2x2
{
    public override string Name => "maxpool";
    public override string Summary => "2x2 max-pooling, stride 2, floor mode (size: 2)";
    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(Halve(input));

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("MaxPool", OnnxAttribute.Of("kernel_shape", 2, 2), OnnxAttribute.Of("strides", 2, 2))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("MaxPool2d", 2);
}

/// <summary>What the 2x2, stride-2 pooling kinds share: their one field (size, which must be 2) and their shape rule.</summary>
public abstract class Pool2x2 : LayerKind
{
    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Int("size", "2 (2x2 windows, stride 2)", i => i == 2, l => l.Size, (l, v) => l with { Size = v }, fallback: 2)];

    public override string Describe(LayerDefinition l) => $"{Name} {l.Size}x{l.Size}";

    protected static TensorShape Halve(TensorShape input)
    {
        NeedsImage(input);
        if (input.Height < 2 || input.Width < 2)
            throw NotFitting($"input {input.Height}x{input.Width} is smaller than the 2x2 window");
        return input with { Height = input.Height / 2, Width = input.Width / 2 };
    }
}
