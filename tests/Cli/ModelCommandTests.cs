using System.Text.Json;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>Models as data through the real process: presets, model files, the seed's knobs, and checkpoints that describe themselves.</summary>
public sealed class ModelCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    private const string SmallBatchNormModel = """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "conv2d", "filters": 8, "kernel": 5, "padding": "valid"}, {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}]}""";

    /// <summary>One error line that is exactly <paramref name="message"/>.</summary>
    private static void OneErrorLine((int ExitCode, string Stdout, string Stderr) result, int exitCode, string message)
    {
        CliAssert.OneErrorLine(result, exitCode, message);
        Assert.EndsWith(message, result.Stderr.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal)).TrimEnd());
    }

    [Fact]
    public void A_model_file_trains_and_every_command_reads_the_model_from_the_checkpoint()
    {
        var file = _temp.File("small.json");
        File.WriteAllText(file, SmallBatchNormModel);
        var run = Path.Combine(_temp.Path, "run");
        var train = Run("train", "--model-file", file, "--data-dir", RepoPaths.Sample, "--limit-train", "400", "--epochs", "2", "--run-dir", run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("bn1 batchnorm", train.Stdout);
        Assert.Contains("Total params: 954 (946 trainable)", train.Stdout);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal("global_avg_pool", config.GetProperty("model").GetProperty("layers")[6].GetProperty("type").GetString());

        var evaluate = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        var accuracy = JsonDocument.Parse(evaluate.Stdout).RootElement.GetProperty("accuracy").GetDouble();
        Assert.InRange(accuracy, 0.1, 1);
        // The same checkpoint on the ILGPU engine gives the same answers.
        var onCpu = Run("evaluate", "--checkpoint", Checkpoint.PathOf(run, "best"), "--data-dir", RepoPaths.Sample, "--device", "cpu", "--json",
            "--output", _temp.File("cpu-report.txt"));
        Assert.True(onCpu.ExitCode == 0, onCpu.Stderr);
        Assert.Equal(accuracy, JsonDocument.Parse(onCpu.Stdout).RootElement.GetProperty("accuracy").GetDouble(), 3);

        var predict = Run("predict", "--run", run, "--device", "simd", "--json", Path.Combine(RepoPaths.Sample, "t10k-images-idx3-ubyte.gz"));
        Assert.True(predict.ExitCode == 0, predict.Stderr);
        var bench = Run("bench", "--checkpoint", Checkpoint.PathOf(run, "last"), "--data-dir", RepoPaths.Sample, "--device", "simd", "--steps", "2", "--json");
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        var benchResult = JsonDocument.Parse(bench.Stdout).RootElement;
        Assert.Contains("global_avg_pool", benchResult.GetProperty("model").GetString());
        // The dense layers alone are the model's own: its one dense layer (8 averaged channels → 10) at bench's batch.
        var alone = benchResult.GetProperty("gemm").EnumerateArray().ToArray();
        Assert.Equal(["dense1 forward 32x8 → 10", "dense1 backward 32x8 → 10 (dW, db, dx)"], alone.Select(g => g.GetProperty("name").GetString()));
        Assert.All(alone, g => Assert.True(g.GetProperty("gflops").GetDouble() > 0));

        var resume = Run("train", "--resume", run, "--epochs", "3", "--data-dir", RepoPaths.Sample);
        Assert.True(resume.ExitCode == 0, resume.Stderr);
        Assert.Equal(3, Checkpoint.Load(Checkpoint.PathOf(run, "last")).Info!.Epoch);
        OneErrorLine(Run("train", "--resume", run, "--epochs", "4", "--filters", "8"), 2,
            $"--resume continues the model run {run} was trained with; drop --model, --model-file, --filters, --hidden, --dropout and --pixels");
    }

    [Fact]
    public void The_seed_knobs_and_the_pixel_scale_change_the_seed_model()
    {
        var run = Path.Combine(_temp.Path, "knobs");
        var train = Run("train", "--filters", "8", "--hidden", "16", "--dropout", "0.5", "--pixels", "raw", "--data-dir", RepoPaths.Sample,
            "--limit-train", "200", "--epochs", "1", "--run-dir", run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("raw 0..255 pixels", train.Stdout);
        var (model, _, _) = Checkpoint.Load(Checkpoint.PathOf(run, "last"));
        Assert.Equal([8, 1, 3, 3], model["conv1.weight"].Shape);
        Assert.Equal([16, 8 * 13 * 13], model["dense1.weight"].Shape);
        Assert.Equal(0.5f, model.Definition.Layers[3].Rate);
        Assert.Equal(1f, model.PixelScale);
    }

    [Fact]
    public void Presets_are_listed_and_bad_models_get_one_line()
    {
        var list = Run("train", "--list-models");
        Assert.Equal(0, list.ExitCode);
        Assert.StartsWith("recipes", list.Stdout);
        foreach (var name in new[] { "seed", "fast", "best", "record", "cnn2", "cnn4" })
            Assert.Contains($"  {name} ", list.Stdout);

        OneErrorLine(Run("train", "--model", "resnet"), 2, "--model resnet: no such built-in recipe or model; use one of seed, fast, best, record, cnn2, cnn2pool, cnn24pool, cnn4 (see train --list-models) or --model-file FILE");
        OneErrorLine(Run("train", "--model", "seed", "--model-file", "m.json"), 2, "give either --model NAME or --model-file FILE, not both");
        OneErrorLine(Run("train", "--hidden", "0"), 2, "--hidden must be between 1 and 65536 (got 0)");
        OneErrorLine(Run("train", "--dropout", "1"), 2, "--dropout must be in [0, 1) (got 1)");

        var missing = _temp.File("missing.json");
        var result = Run("train", "--model-file", missing, "--data-dir", RepoPaths.Sample);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: cannot read --model-file {missing}", result.Stderr);

        var impossible = _temp.File("impossible.json");
        File.WriteAllText(impossible, """{"input": [1, 28, 28], "scale": 1, "layers": [{"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "maxpool"}, {"type": "flatten"}, {"type": "dense", "units": 10}]}""");
        OneErrorLine(Run("train", "--model-file", impossible, "--data-dir", RepoPaths.Sample), 1,
            $"model file {impossible}: layer 5 (maxpool): input 1x1 is smaller than the 2x2 window");
        var unknown = _temp.File("unknown.json");
        File.WriteAllText(unknown, """{"input": [1, 28, 28], "scale": 1, "layers": [{"type": "attention"}]}""");
        OneErrorLine(Run("train", "--model-file", unknown), 1,
            $"model file {unknown}: layer 1: unknown type \"attention\" (one of {LayerKinds.Names})");
        // Nothing was written: only the two model files this test made are there.
        Assert.Equal(["impossible.json", "unknown.json"], Directory.GetFiles(_temp.Path).Select(Path.GetFileName).Order());
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "runs")));
    }
}
