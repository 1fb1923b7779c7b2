namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>avgpool: the mean of each 2x2 window, stride 2, floor mode (PyTorch's AvgPool2d(2)).</summary>
public sealed class AvgPool : Pool2x2
{
    public override string Name => "avgpool";
    public override string Summary => "2x2 average pooling, stride 2, floor mode (size: 2)";

    public override LayerShape Plan(LayerDefinition l, TensorShape input)
    {
        var output = Halve(input);
        return LayerShape.Same(output, 4L * output.Size);
    }

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
        [new("AveragePool", OnnxAttribute.Of("kernel_shape", 2, 2), OnnxAttribute.Of("strides", 2, 2))];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("AvgPool2d", 2);
}
