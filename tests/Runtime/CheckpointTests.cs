using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static ModelState RandomState(int seed)
    {
        var model = Models.Seed;
        var random = new Random(seed);
        return new ModelState(ParameterInitializer.Initial(model, (ulong)seed),
            TestData.Uniform(random, model.ParameterCount), TestData.Uniform(random, model.ParameterCount, 0, 1), 1234);
    }

    [Fact]
    public void A_checkpoint_round_trips_bit_exactly_with_its_training_position()
    {
        var state = RandomState(1);
        var info = new CheckpointInfo { Epoch = 2, Position = 640, Step = 1234, PartialLossSum = 12.5, BestValidationAccuracy = 0.875,
            Config = new RunConfiguration { Settings = new TrainingSettings { Seed = 99, Normalize = true }, Epochs = 5 } };
        Checkpoint.Save(_temp.Path, "last", Models.Seed, state, info);

        var (_, loaded, loadedInfo) = Checkpoint.Load(Checkpoint.PathOf(_temp.Path, "last"));

        Assert.Equal(state.Parameters, loaded.Parameters);
        Assert.Equal(state.FirstMoment, loaded.FirstMoment);
        Assert.Equal(state.SecondMoment, loaded.SecondMoment);
        Assert.Equal(1234, loaded.Step);
        Assert.Equal(info with { SavedAt = loadedInfo!.SavedAt }, loadedInfo);
        Assert.True(File.Exists(Path.Combine(_temp.Path, "last.json")));
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
    }

    [Fact]
    public void The_file_is_real_safetensors_with_PyTorch_names_and_shapes()
    {
        Checkpoint.Save(_temp.Path, "best", Models.Seed, RandomState(2), new CheckpointInfo());
        var bytes = File.ReadAllBytes(Checkpoint.PathOf(_temp.Path, "best"));
        var headerLength = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, headerLength % 8);
        var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength)).RootElement;
        var dense1 = header.GetProperty("dense1.weight");
        Assert.Equal("F32", dense1.GetProperty("dtype").GetString());
        Assert.Equal([128, 5408], dense1.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([32, 1, 3, 3], header.GetProperty("optimizer.m.conv1.weight").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([10], header.GetProperty("optimizer.v.dense2.bias").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(8 + headerLength + 3L * 4 * Models.Seed.ParameterCount, bytes.Length);
    }

    [Fact]
    public void An_interrupted_write_leaves_the_previous_checkpoint_loadable()
    {
        var path = Checkpoint.PathOf(_temp.Path, "last");
        var good = RandomState(3);
        Checkpoint.Save(_temp.Path, "last", Models.Seed, good, new CheckpointInfo { Step = 1234 });

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("disk unplugged");
        }));

        Assert.Equal(good.Parameters, Checkpoint.Load(path).State.Parameters);
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(_temp.Path, ".*"));
    }

    [Fact]
    public void Corrupt_and_foreign_checkpoints_get_clear_errors()
    {
        Checkpoint.Save(_temp.Path, "good", Models.Seed, RandomState(4), new CheckpointInfo());
        var bytes = File.ReadAllBytes(Checkpoint.PathOf(_temp.Path, "good"));

        var truncated = _temp.File("truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<FashionGpuException>(() => Checkpoint.Load(truncated));
        Assert.Contains("not a valid safetensors file", e.Message);
        Assert.Contains("truncated", e.Message);

        var garbage = _temp.File("garbage.safetensors");
        File.WriteAllText(garbage, "this is not a checkpoint at all");
        Assert.Contains("it is not a checkpoint", Assert.Throws<FashionGpuException>(() => Checkpoint.Load(garbage)).Message);

        var wrongShape = _temp.File("wrong.safetensors");
        var model = Models.Seed;
        SafeTensors.Write(wrongShape, model.Parameters.Select(p =>
            new NamedTensor(p.Name, p.Name == "dense1.weight" ? [64, 5408] : p.Shape, new float[p.Name == "dense1.weight" ? 64 * 5408 : p.Length])).ToArray(),
            new Dictionary<string, string>());
        Assert.Equal($"checkpoint {wrongShape}: dense1.weight has shape [64,5408], its model needs [128,5408]; the model metadata does not match the tensors",
            Assert.Throws<FashionGpuException>(() => Checkpoint.Load(wrongShape)).Message);

        var missing = _temp.File("missing.safetensors");
        SafeTensors.Write(missing, [new NamedTensor("conv1.weight", [32, 1, 3, 3], new float[288])], new Dictionary<string, string>());
        Assert.Contains("has no tensor conv1.bias", Assert.Throws<FashionGpuException>(() => Checkpoint.Load(missing)).Message);
    }

    [Fact]
    public void Parameters_alone_are_enough_to_evaluate()
    {
        var model = Models.Seed;
        var state = RandomState(5);
        var path = _temp.File("weights.safetensors");
        SafeTensors.Write(path, state.Tensors(model).Take(model.Parameters.Count).ToArray(), new Dictionary<string, string>());
        var (_, loaded, info) = Checkpoint.Load(path);
        Assert.Equal(state.Parameters, loaded.Parameters);
        Assert.All(loaded.FirstMoment, v => Assert.Equal(0f, v));
        Assert.Null(info);
    }

    private const string BatchNormModel = """{"input": [1, 28, 28], "scale": 1, "layers": [{"type": "conv2d", "filters": 4, "kernel": 5, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}]}""";

    [Fact]
    public void A_checkpoint_carries_its_model_and_loads_without_being_told_it()
    {
        var model = Models.Parse(BatchNormModel);
        var state = ModelState.Fresh(model, 3);
        Checkpoint.Save(_temp.Path, "last", model, state, new CheckpointInfo { Config = new RunConfiguration { Model = model.Definition } });

        var loaded = Checkpoint.Load(Checkpoint.PathOf(_temp.Path, "last"));

        Assert.Equal(model.Definition, loaded.Model.Definition);
        Assert.Equal(model.Definition, loaded.Info!.Config.Model);
        Assert.Equal(state.Parameters, loaded.State.Parameters);
        var (tensors, metadata) = SafeTensors.Read(Checkpoint.PathOf(_temp.Path, "last"));
        Assert.Equal(model.Definition.ToJson(), metadata["model"]);
        Assert.Equal(["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "dense1.weight", "dense1.bias"],
            tensors.Where(t => !t.Name.StartsWith("optimizer.", StringComparison.Ordinal)).Select(t => t.Name));
        // Running statistics are buffers, not trained: no optimizer moments for them.
        Assert.DoesNotContain(tensors, t => t.Name == "optimizer.m.bn1.running_mean");
        Assert.Contains(tensors, t => t.Name == "optimizer.v.bn1.weight");
        Assert.Equal(Enumerable.Repeat(1f, 4), loaded.State.Parameters.AsSpan(model["bn1.running_var"].Offset, 4).ToArray());
    }

    [Fact]
    public void Checkpoints_from_before_models_were_data_hold_the_seed_model_with_their_pixel_scale()
    {
        foreach (var (normalize, scale) in new[] { (false, 1f), (true, ModelDefinition.ScaledPixels) })
        {
            var path = _temp.File($"old-{normalize}.safetensors");
            var info = new CheckpointInfo { Config = new RunConfiguration { Settings = new TrainingSettings { Normalize = normalize } } };
            SafeTensors.Write(path, RandomState(6).Tensors(Models.Seed).ToArray(),
                new Dictionary<string, string> { ["fashiongpu"] = System.Text.Json.JsonSerializer.Serialize(info, CheckpointInfo.Json) });
            Assert.Equal(ModelPresets.Seed(scale), Checkpoint.Load(path).Model.Definition);
        }
    }

    [Fact]
    public void A_model_that_does_not_match_the_tensors_is_refused()
    {
        var model = Models.Parse(BatchNormModel);
        var path = _temp.File("mismatch.safetensors");
        SafeTensors.Write(path, RandomState(7).Tensors(Models.Seed).ToArray(), new Dictionary<string, string> { ["model"] = model.Definition.ToJson() });
        var message = Assert.Throws<FashionGpuException>(() => Checkpoint.Load(path)).Message;
        Assert.Contains("the model metadata does not match the tensors", message);

        var broken = _temp.File("broken.safetensors");
        SafeTensors.Write(broken, RandomState(7).Tensors(Models.Seed).ToArray(), new Dictionary<string, string> { ["model"] = """{"input": [1, 28, 28], "scale": 1, "layers": [{"type": "conv3d"}]}""" });
        Assert.Equal($"checkpoint {broken}: its model metadata: layer 1: unknown type \"conv3d\" (one of {LayerKinds.Names})",
            Assert.Throws<FashionGpuException>(() => Checkpoint.Load(broken)).Message);
    }
}
