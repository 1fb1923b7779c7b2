namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>relu: max(x, 0), keeping NaN (PyTorch's rule).</summary>
public sealed class Relu : LayerKind
{
    public override string Name => "relu";
    public override string Summary => "max(x, 0)";
    public override LayerShape Plan(LayerDefinition l, TensorShape input) => LayerShape.Same(input);
    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) => [new("Relu")];
    public override TorchModule Torch(LayerDefinition l, TensorShape input) => TorchModule.Of("ReLU");
}
