namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>batchnorm: per channel (or per feature after a dense layer), batch statistics while training, running ones after.</summary>
public sealed class BatchNorm : LayerKind
{
    public override string Name => "batchnorm";
    public override string Summary => "batch normalisation per channel (per feature when flat); running statistics in inference";
    public override string ParameterPrefix => "bn";

    public override LayerShape Plan(LayerDefinition l, TensorShape input) => new(input,
    [
        new ParameterSpec("weight", [input.Channels], 0, 0, ParameterInit.Ones),
        new ParameterSpec("bias", [input.Channels], 0, 0, ParameterInit.Zeros),
        new ParameterSpec("running_mean", [input.Channels], 0, 0, ParameterInit.Zeros, Trainable: false),
        new ParameterSpec("running_var", [input.Channels], 0, 0, ParameterInit.Ones, Trainable: false),
    ], 2L * input.Size);

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
    [
        new("BatchNormalization", ["weight", "bias", "running_mean", "running_var"],
            [OnnxAttribute.Real("epsilon", Kernels.BatchNormShape.Epsilon), OnnxAttribute.Real("momentum", 1f - Kernels.BatchNormShape.Momentum)]),
    ];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) =>
        TorchModule.Of(input.Flat ? "BatchNorm1d" : "BatchNorm2d", input.Channels);
}
