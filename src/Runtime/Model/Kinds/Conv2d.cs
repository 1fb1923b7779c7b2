using System.Globalization;

namespace FashionGpu.Runtime.Model.Kinds;

/// <summary>conv2d: filters, a 3x3 or 5x5 kernel, stride 1, valid or same padding; Keras's Glorot fans.</summary>
public sealed class Conv2d : LayerKind
{
    public override string Name => "conv2d";
    public override string Summary => "2-D convolution, stride 1: filters (1 to 4096), kernel (3 or 5), padding (valid or same)";
    public override string ParameterPrefix => "conv";
    public override IReadOnlyList<string> DecayedParameters => ["weight"];
    public override long BackwardFlops(long forward, bool inputGradient) => forward * (inputGradient ? 2 : 1);

    public override IReadOnlyList<LayerField> Fields { get; } =
    [
        LayerField.Int("filters", "an integer from 1 to 4096", i => i is >= 1 and <= 4096, l => l.Filters, (l, v) => l with { Filters = v }),
        LayerField.Int("kernel", "3 or 5", i => i is 3 or 5, l => l.Kernel, (l, v) => l with { Kernel = v }),
        LayerField.Choice("padding", ["valid", "same"], l => l.SamePadding ? "same" : "valid", (l, v) => l with { SamePadding = v == "same" }, "valid"),
    ];

    public override string Describe(LayerDefinition l) =>
        string.Create(CultureInfo.InvariantCulture, $"conv2d {l.Filters}@{l.Kernel}x{l.Kernel}{(l.SamePadding ? " same" : "")}");

    private static int Padding(LayerDefinition l) => l.SamePadding ? l.Kernel / 2 : 0;

    public override LayerShape Plan(LayerDefinition l, TensorShape input)
    {
        NeedsImage(input);
        var (k, pad) = (l.Kernel, Padding(l));
        var (oh, ow) = (input.Height + 2 * pad - k + 1, input.Width + 2 * pad - k + 1);
        if (oh < 1 || ow < 1)
            throw NotFitting($"input {input.Height}x{input.Width} is smaller than the {k}x{k} kernel (use \"padding\": \"same\" or fewer pooling layers before it)");
        var output = new TensorShape(l.Filters, oh, ow, false);
        return new LayerShape(output,
        [
            // Keras's Glorot fans for a convolution: fan_in = in·k·k, fan_out = filters·k·k.
            new ParameterSpec("weight", [l.Filters, input.Channels, k, k], (long)input.Channels * k * k, (long)l.Filters * k * k, ParameterInit.Glorot),
            new ParameterSpec("bias", [l.Filters], 0, 0, ParameterInit.Zeros),
        ], 2L * output.Size * input.Channels * k * k);
    }

    public override IReadOnlyList<OnnxNode> Onnx(LayerDefinition l, TensorShape input) =>
    [
        new("Conv", ["weight", "bias"],
        [
            OnnxAttribute.Of("kernel_shape", l.Kernel, l.Kernel), OnnxAttribute.Of("pads", Padding(l), Padding(l), Padding(l), Padding(l)),
            OnnxAttribute.Of("strides", 1, 1), OnnxAttribute.Of("dilations", 1, 1), OnnxAttribute.One("group", 1),
        ]),
    ];

    public override TorchModule Torch(LayerDefinition l, TensorShape input) =>
        new("Conv2d", [input.Channels, l.Filters, l.Kernel], new Dictionary<string, object> { ["padding"] = Padding(l) });
}
