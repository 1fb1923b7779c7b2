namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>maxpool: 2x2 windows, stride 2, floor mode; the first maximum (or NaN) of a window wins.</summary>
public sealed class MaxPool : LayerKind
{
    public override string Name => "maxpool";
    public override string Summary => "2x2 max-pooling, stride 2 (size: 2)";

    public override IReadOnlyList<LayerField> Fields { get; } =
        [LayerField.Int("size", "2 (2x2 windows, stride 2)", i => i == 2, l => l.Size, (l, v) => l with { Size = v }, fallback: 2)];

    public override string Describe(LayerDefinition l) => $"maxpool {l.Size}x{l.Size}";

    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(Pooling.Halve(input));

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("MaxPool", OnnxAttribute.Of("kernel_shape", 2, 2), OnnxAttribute.Of("strides", 2, 2))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("MaxPool2d", 2);
}

/// <summary>The shape rule of the 2x2, stride-2 pooling kinds.</summary>
internal static class Pooling
{
    public static TensorShape Halve(TensorShape input)
    {
        if (input.Flat)
            throw new FashionGpuException($"needs a channels x height x width input, but its input {input} is flat (it comes after flatten, dense or global_avg_pool)");
        if (input.Height < 2 || input.Width < 2)
            throw new FashionGpuException($"input {input.Height}x{input.Width} is smaller than the 2x2 window");
        return input with { Height = input.Height / 2, Width = input.Width / 2 };
    }
}
