using FashionGpu.Runtime;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

/// <summary>Model definitions: the JSON format, shape inference, PyTorch names, the seed's knobs, and one message per mistake.</summary>
public sealed class ModelDefinitionTests
{
    /// <summary>The seed preset exactly as the format's specification writes it.</summary>
    private const string SeedJson = """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "valid"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "dropout", "rate": 0.2}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]}""";

    private static string Model(string layers, string scale = "1") => $$"""{"input": [1, 28, 28], "scale": {{scale}}, "layers": [{{layers}}]}""";

    [Fact]
    public void The_seed_preset_is_the_specified_model_and_keeps_its_names_and_size()
    {
        var seed = ModelPresets.Get("seed");
        Assert.Equal(ModelDefinition.Parse(SeedJson, "spec"), seed);
        Assert.Equal(seed, ModelDefinition.Parse(seed.ToJson(), "round trip"));
        var plan = new ModelPlan(seed);
        Assert.Equal(["conv1.weight", "conv1.bias", "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"], plan.Parameters.Select(p => p.Name));
        Assert.Equal(693_962, plan.ParameterCount);
        Assert.Equal([128, 5408], plan["dense1.weight"].Shape);
        Assert.Equal(1_776_384, plan.ForwardFlopsPerImage);
        Assert.Equal(ModelDefinition.ScaledPixels, plan.PixelScale);
    }

    [Fact]
    public void Shapes_are_inferred_and_layers_numbered_by_kind()
    {
        var plan = new ModelPlan(ModelPresets.Get("cnn2"));
        Assert.Equal(["(32, 28, 28)", "(32, 28, 28)", "(32, 28, 28)", "(32, 14, 14)", "(64, 14, 14)", "(64, 14, 14)", "(64, 14, 14)", "(64, 7, 7)",
            "(64, 7, 7)", "(3136)", "(128)", "(128)", "(128)", "(10)"], plan.Layers.Select(l => l.Output.ToString()));
        Assert.Equal(["conv1", "bn1", null, null, "conv2", "bn2", null, null, null, null, "dense1", "bn3", null, "dense2"], plan.Layers.Select(l => l.Name));
        Assert.Equal([64, 32, 3, 3], plan["conv2.weight"].Shape);
        Assert.Equal([128, 3136], plan["dense1.weight"].Shape);
        Assert.False(plan["bn3.running_var"].Trainable);
        Assert.Equal(422_538, plan.ParameterCount);
        // 2·(28·28·32·9 + 14·14·64·288 + 3136·128 + 128·10) multiply-adds, plus batchnorm's scale and shift.
        Assert.Equal(2L * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 288 + 3136 * 128 + 128 * 10) + 2L * (32 * 28 * 28 + 64 * 14 * 14 + 128), plan.ForwardFlopsPerImage);
        Assert.Contains("Total params: 422,538 (422,090 trainable)", plan.Summary());
    }

    [Fact]
    public void Global_average_pooling_and_5x5_same_convolutions_plan()
    {
        var plan = Models.Parse(Model("""{"type": "conv2d", "filters": 8, "kernel": 5, "padding": "same"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}"""));
        Assert.Equal("(8, 28, 28)", plan.Layers[0].Output.ToString());
        Assert.Equal("(8)", plan.Layers[1].Output.ToString());
        Assert.Equal([10, 8], plan["dense1.weight"].Shape);
    }

    [Fact]
    public void The_seed_knobs_change_the_first_conv_the_first_hidden_layer_and_every_dropout()
    {
        var changed = ModelPresets.Get("cnn2").With(filters: 16, hidden: 64, dropout: 0.5f);
        Assert.Equal(16, changed.Layers[0].Filters);
        Assert.Equal(64, changed.Layers[4].Filters);
        Assert.Equal(64, changed.Layers[10].Units);
        Assert.Equal(10, changed.Layers[^1].Units);
        Assert.All(changed.Layers.Where(l => l.Kind == LayerKinds.Dropout), l => Assert.Equal(0.5f, l.Rate));
        Assert.Equal("--hidden: the model has no hidden dense layer (only the 10-unit output)",
            Assert.Throws<FashionGpuException>(() => Models.Parse(Model("""{"type": "flatten"}, {"type": "dense", "units": 10}""")).Definition.With(hidden: 5)).Message);
    }

    [Theory]
    [InlineData("""{"type": "conv3d"}""", "layer 1: unknown type \"conv3d\" (one of {kinds})")]
    [InlineData("""{"type": "conv2d", "kernel": 3}""", "layer 1 (conv2d): missing \"filters\" (an integer from 1 to 4096)")]
    [InlineData("""{"type": "conv2d", "filters": "32", "kernel": 3}""", "layer 1 (conv2d): \"filters\" is \"32\", it must be an integer from 1 to 4096")]
    [InlineData("""{"type": "conv2d", "filters": 4, "kernel": 4}""", "layer 1 (conv2d): \"kernel\" is 4, it must be 3 or 5")]
    [InlineData("""{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "full"}""", "layer 1 (conv2d): \"padding\" is \"full\", it must be \"valid\" or \"same\"")]
    [InlineData("""{"type": "dropout", "rate": 1}""", "layer 1 (dropout): \"rate\" must be in [0, 1) (got 1)")]
    [InlineData("""{"type": "dropout", "rate": 0.99999999999}""", "layer 1 (dropout): \"rate\" must be in [0, 1) (got 0.99999999999, which is 1 as a 32-bit float)")]
    [InlineData("""{"type": "dropout", "rate": "0.5"}""", "layer 1 (dropout): \"rate\" is \"0.5\", it must be a number in [0, 1)")]
    [InlineData("""{"type": "dense", "units": 10, "activation": "relu"}""", "layer 1 (dense): unknown field \"activation\" (allowed: \"type\", \"units\")")]
    [InlineData("""{"units": 10}""", "layer 1: missing \"type\" (one of {kinds})")]
    public void A_wrong_layer_is_named_with_what_is_wrong(string layer, string message) =>
        Assert.Equal("model file m.json: " + message.Replace("{kinds}", LayerKinds.Names, StringComparison.Ordinal),
            Assert.Throws<FashionGpuException>(() => ModelDefinition.Parse(Model(layer + """, {"type": "flatten"}, {"type": "dense", "units": 10}"""), "model file m.json")).Message);

    [Theory]
    [InlineData("""{"type": "conv2d", "filters": 4, "kernel": 5}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "flatten"}, {"type": "dense", "units": 10}""",
        "layer 6 (maxpool): input 1x1 is smaller than the 2x2 window")]
    [InlineData("""{"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "flatten"}, {"type": "dense", "units": 10}""",
        "layer 5 (conv2d): input 1x1 is smaller than the 3x3 kernel (use \"padding\": \"same\" or fewer pooling layers before it)")]
    [InlineData("""{"type": "dense", "units": 10}""",
        "layer 1 (dense): needs a flat input, but its input is (1, 28, 28); add {\"type\": \"flatten\"} or {\"type\": \"global_avg_pool\"} before it")]
    [InlineData("""{"type": "flatten"}, {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "dense", "units": 10}""",
        "layer 2 (conv2d): needs a channels x height x width input, but its input (784) is flat (it comes after flatten, dense or global_avg_pool)")]
    [InlineData("""{"type": "flatten"}, {"type": "dense", "units": 12}""", "layer 2 (dense 12): the last layer must be a dense layer of 10 units (the logits)")]
    [InlineData("""{"type": "flatten"}, {"type": "dense", "units": 10}, {"type": "relu"}""", "layer 3 (relu): the last layer must be a dense layer of 10 units (the logits)")]
    public void An_impossible_model_names_the_layer(string layers, string message) =>
        Assert.Equal(message, Assert.Throws<FashionGpuException>(() => Models.Parse(Model(layers))).Message);

    [Theory]
    [InlineData("{", "model file m.json is not valid JSON")]
    [InlineData("""{"input": [3, 28, 28], "scale": 1, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""", "model file m.json: \"input\" is [3, 28, 28], but Fashion-MNIST images are [1, 28, 28]")]
    [InlineData("""{"input": [1, 28, 28], "scale": 0, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""", "model file m.json: \"scale\" must be a positive number with 255 × scale below 3.4e38 (got 0)")]
    [InlineData("""{"input": [1, 28, 28], "scale": 1e-50, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""", "model file m.json: \"scale\" must be a positive number with 255 × scale below 3.4e38 (got 1E-50, which is 0 as a 32-bit float)")]
    [InlineData("""{"input": [1, 28, 28], "scale": 1e39, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""", "model file m.json: \"scale\" must be a positive number with 255 × scale below 3.4e38 (got 1E+39, which is infinite as a 32-bit float)")]
    [InlineData("""{"input": [1, 28, 28], "scale": 1e37, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""", "model file m.json: \"scale\" must be a positive number with 255 × scale below 3.4e38 (got 1E+37)")]
    [InlineData("""{"input": [1, 28, 28], "scale": 1, "layers": []}""", "model file m.json: \"layers\" must be a non-empty array of layers")]
    [InlineData("""{"input": [1, 28, 28], "scale": 1, "layer": []}""", "model file m.json: unknown field \"layer\"")]
    [InlineData("[]", "model file m.json: a model is a JSON object")]
    public void A_malformed_file_says_so(string json, string start) =>
        Assert.StartsWith(start, Assert.Throws<FashionGpuException>(() => ModelDefinition.Parse(json, "model file m.json")).Message);

    [Fact]
    public void The_seed_fuses_as_before_and_other_models_fuse_conv_and_pool_and_relus()
    {
        var seed = new EngineProgram(Models.Seed);
        Assert.Equal(["conv1 block", "dense1+relu", "dense2"], seed.Ops.Select(o => o.Name));
        Assert.True(seed.Ops[0].Block);
        Assert.True(seed.Ops[1].Relu);
        Assert.False(seed.Ops[0].NeedsInputGradient);
        var cnn2 = new EngineProgram(new ModelPlan(ModelPresets.Get("cnn2")));
        Assert.Equal([LayerKinds.Conv2d, LayerKinds.BatchNorm, LayerKinds.MaxPool, LayerKinds.Conv2d, LayerKinds.BatchNorm,
            LayerKinds.MaxPool, LayerKinds.Dropout, LayerKinds.Dense, LayerKinds.BatchNorm, LayerKinds.Dense], cnn2.Ops.Select(o => o.Kind));
        Assert.Equal([1, 4, 8], cnn2.Ops.Select((o, i) => (o, i)).Where(p => p.o.Relu).Select(p => p.i)); // each batchnorm with its ReLU
        Assert.DoesNotContain(cnn2.Ops, o => o.Block);
        Assert.Equal(2, cnn2.OpProducing(3));
        Assert.Equal(6, cnn2.OpProducing(9)); // flatten shares the dropout's output
        Assert.Throws<ArgumentException>(() => cnn2.OpProducing(1)); // the batchnorm before its ReLU
        Assert.Throws<ArgumentException>(() => new EngineProgram(Models.Seed).OpProducing(0)); // the conv inside the seed's block
        var pooledFirst = new EngineProgram(Models.Parse("""{"input": [1, 28, 28], "scale": 1, "layers": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 10}]}"""));
        Assert.Equal(["conv1+pool", "bn1+relu", "dense1"], pooledFirst.Ops.Select(o => o.Name));
        Assert.Equal(new FashionGpu.Kernels.PoolShape(2, 4, 28, 28), pooledFirst.Ops[0].Pooling(2)); // the conv's output is pooled, not its input
        Assert.Throws<ArgumentException>(() => pooledFirst.OpProducing(0)); // the conv's output never leaves the op
    }
}
