using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>`fashiongpu export` and `predict --onnx` through the real process.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    private static void OneErrorLine((int ExitCode, string Stdout, string Stderr) result, int exitCode, string start) =>
        CliAssert.OneErrorLine(result, exitCode, start);

    [Fact]
    public void An_exported_run_predicts_through_ONNX_Runtime_exactly_as_the_checkpoint_does()
    {
        var run = Path.Combine(_temp.Path, "run");
        var train = Run("train", "--data-dir", RepoPaths.Sample, "--limit-train", "300", "--epochs", "1", "--run-dir", run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd").ExitCode == 0);

        var export = Run("export", "--run", run);
        Assert.True(export.ExitCode == 0, export.Stderr);
        var onnx = Path.Combine(run, "model.onnx");
        Assert.StartsWith($"wrote {onnx}: opset 17", export.Stdout);

        var images = Path.Combine(RepoPaths.Sample, "t10k-images-idx3-ubyte.gz");
        var fromCheckpoint = Run("predict", "--run", run, "--device", "simd", images);
        var fromOnnx = Run("predict", "--onnx", onnx, images);
        Assert.True(fromOnnx.ExitCode == 0, fromOnnx.Stderr);
        Assert.Equal(500, fromOnnx.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(fromCheckpoint.Stdout, fromOnnx.Stdout);

        var beside = Run("export", "--checkpoint", Checkpoint.PathOf(run, "last"), "--opset", "13");
        Assert.True(beside.ExitCode == 0, beside.Stderr);
        Assert.True(File.Exists(Path.Combine(run, "last.onnx")));
    }

    [Fact]
    public void Missing_corrupt_and_unwritable_give_one_line_and_write_nothing()
    {
        OneErrorLine(Run("export", "--run", Path.Combine(_temp.Path, "nope")), 2, "--run ");
        var corrupt = _temp.File("corrupt.safetensors");
        File.WriteAllText(corrupt, "not a checkpoint");
        OneErrorLine(Run("export", "--checkpoint", corrupt), 1, $"checkpoint {corrupt} is not a valid safetensors file");
        OneErrorLine(Run("export", "--checkpoint", corrupt, "--opset", "9"), 2, "--opset must be between 13 and 21 (got 9)");

        var run = Path.Combine(_temp.Path, "run");
        Assert.Equal(0, Run("train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--run-dir", run, "--device", "simd").ExitCode);
        var file = _temp.File("a-file");
        File.WriteAllText(file, "x");
        OneErrorLine(Run("export", "--run", run, "--output", Path.Combine(file, "model.onnx")), 2, $"--output {Path.Combine(file, "model.onnx")}: {file} is a file, not a directory");
        OneErrorLine(Run("export", "--run", run, "--output", _temp.Path), 2, $"--output {_temp.Path} is a directory");
        Assert.False(File.Exists(Path.Combine(run, "model.onnx")));
        OneErrorLine(Run("predict", "--onnx", _temp.File("missing.onnx"), "x.png"), 2, "--onnx ");
        OneErrorLine(Run("predict", "--onnx", corrupt, "--run", run, "x.png"), 2, "give one of --run DIR, --checkpoint FILE and --onnx FILE");
        var images = Path.Combine(RepoPaths.Sample, "t10k-images-idx3-ubyte.gz");
        OneErrorLine(Run("predict", "--onnx", corrupt, images), 1, $"ONNX Runtime cannot run {corrupt}");
    }
}
