using System.Text.Json;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>The `fashiongpu` command as a user meets it: exit codes (0 ok, 1 failure, 2 usage, 130 interrupted) and messages.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    private static void UsageError((int ExitCode, string Stdout, string Stderr) result, string message)
    {
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: " + message, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Theory]
    [InlineData("--batch-size", "0", "--batch-size must be between 1 and 4096 (got 0)")]
    [InlineData("--epochs", "0", "--epochs must be at least 1 (got 0)")]
    [InlineData("--validation-split", "1.5", "--validation-split must be in [0, 1) (got 1.5)")]
    [InlineData("--learning-rate", "-1", "--learning-rate must be a positive number (got -1)")]
    [InlineData("--device", "tpu", "unknown device 'tpu'; use auto, simd, cpu, cuda, cuda:N, opencl or opencl:N")]
    [InlineData("--limit-train", "0", "--limit-train must be at least 1 (got 0)")]
    public void Impossible_flags_are_usage_errors(string flag, string value, string message)
    {
        UsageError(Run("train", flag, value), message);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void Unknown_options_and_bad_configuration_are_usage_errors()
    {
        var unknown = Run("train", "--epoch", "3");
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("error: ", unknown.Stderr);
        // Hints name the program as it was started: here `dotnet .../fashiongpu.dll`.
        Assert.Matches(@"run 'dotnet \S*fashiongpu\.dll train --help' for usage", unknown.Stderr);
        var fromEnvironment = CliProcess.Run(_temp.Path, new Dictionary<string, string?> { ["FASHIONGPU__Train__Epochs"] = "0" }, "train");
        UsageError(fromEnvironment, "configuration value Train:Epochs must be at least 1 (got 0); fix FASHIONGPU__Train__Epochs or appsettings.json");
        UsageError(Run("evaluate"), "give exactly one of --run DIR or --checkpoint FILE");
    }

    [Fact]
    public void Help_and_version_exit_zero()
    {
        var help = Run("train", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var flag in new[] { "--data-dir", "--device", "--epochs", "--batch-size", "--learning-rate", "--validation-split",
                     "--seed", "--normalize", "--limit-train", "--run-dir", "--resume", "--json", "--verbose", "--model", "--model-file", "--filters",
                     "--hidden", "--dropout", "--pixels", "--list-models" })
            Assert.Contains(flag, help.Stdout);
        var version = Run("--version");
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout);
    }

    [Fact]
    public void Missing_data_names_what_is_missing()
    {
        var result = Run("train", "--data-dir", _temp.File("nowhere"), "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: --data-dir {_temp.File("nowhere")} does not hold Fashion-MNIST: the directory does not exist", result.Stderr.Trim());
    }

    [Fact]
    public void Corrupt_and_wrong_shape_checkpoints_fail_with_one_line()
    {
        var corrupt = _temp.File("corrupt.safetensors");
        File.WriteAllBytes(corrupt, [1, 2, 3]);
        var result = Run("evaluate", "--checkpoint", corrupt, "--data-dir", RepoPaths.Sample, "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: checkpoint {corrupt} is not a valid safetensors file: shorter than its 8-byte header length", result.Stderr.Trim());

        var wrong = _temp.File("wrong.safetensors");
        SafeTensors.Write(wrong, Models.Seed.Parameters.Select(p =>
            new NamedTensor(p.Name, p.Name == "dense2.weight" ? [5, 128] : p.Shape, new float[p.Name == "dense2.weight" ? 640 : p.Length])).ToArray(),
            new Dictionary<string, string>());
        result = Run("evaluate", "--checkpoint", wrong, "--data-dir", RepoPaths.Sample, "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: checkpoint {wrong}: dense2.weight has shape [5,128], its model needs [10,128]; the model metadata does not match the tensors", result.Stderr.Trim());
    }

    [Fact]
    public void Train_then_evaluate_writes_the_run_directory_and_the_reports()
    {
        var run = _temp.File("run");
        var train = Run("train", "--data-dir", RepoPaths.Sample, "--device", "cpu", "--limit-train", "320", "--epochs", "1", "--run-dir", run, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var epoch = JsonDocument.Parse(train.Stdout.Trim()).RootElement;
        Assert.Equal(1, epoch.GetProperty("epoch").GetInt32());
        Assert.InRange(epoch.GetProperty("validation_accuracy").GetDouble(), 0, 1);
        Assert.Matches(@"Evaluate with: dotnet \S*fashiongpu\.dll evaluate --run", train.Stderr);

        UsageError(Run("train", "--data-dir", RepoPaths.Sample, "--run-dir", run), $"{run} already holds a run");

        var evaluate = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "cpu", "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        var report = JsonDocument.Parse(evaluate.Stdout).RootElement;
        Assert.Equal(500, report.GetProperty("samples").GetInt32());
        Assert.Equal(693962, report.GetProperty("parameters").GetInt32());
        Assert.Equal(500, report.GetProperty("confusion").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetInt32()));
        var text = File.ReadAllText(Path.Combine(run, "report.txt"));
        Assert.Contains("Total params: 693,962", text);
        Assert.Contains($"Accuracy: {report.GetProperty("accuracy").GetDouble():F3}", text);
        Assert.Contains("Ankle boot", text);
        Assert.True(File.Exists(Path.Combine(run, "report.json")));
        foreach (var file in new[] { "report.html", "loss.png", "accuracy.png", "confusion.png", "per_class.png", "misclassified.png" })
            Assert.True(File.Exists(Path.Combine(run, file)), file);

        var other = _temp.File("other");
        Assert.Equal(0, Run("train", "--data-dir", RepoPaths.Sample, "--device", "cpu", "--limit-train", "320", "--epochs", "1", "--run-dir", other, "--seed", "7").ExitCode);
        var compare = Run("compare", run, other);
        Assert.True(compare.ExitCode == 0, compare.Stderr);
        foreach (var part in new[] { "best validation accuracy", "test accuracy", "F1 Ankle boot", "training images/s" })
            Assert.Contains(part, compare.Stdout);
        Assert.Equal(2, Run("compare", run).ExitCode);
    }

    [Fact]
    public void Ctrl_C_saves_a_checkpoint_exits_130_and_the_run_resumes()
    {
        var run = _temp.File("run");
        using (var training = CliProcess.Start(_temp.Path,
                   ["train", "--data-dir", RepoPaths.Sample, "--device", "cpu", "--limit-train", "640", "--epochs", "50", "--run-dir", run]))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!training.Stdout.Contains("epoch 1/50  loss") && DateTime.UtcNow < deadline)
                Thread.Sleep(100);
            training.Interrupt();
            var (exitCode, stdout, stderr) = training.WaitForExit(TimeSpan.FromMinutes(2));
            Assert.True(exitCode == 130, $"exit {exitCode}\n{stdout}\n{stderr}");
            Assert.Contains($"train --resume {run}", stdout);
            Assert.Matches(@"Resume with: dotnet \S*fashiongpu\.dll train --resume", stdout);
        }
        var (_, _, info) = Checkpoint.Load(Checkpoint.PathOf(run, "last"));
        Assert.InRange(info!.Epoch, 1, 49);

        var resumed = Run("train", "--resume", run, "--epochs", (info.Epoch + 1).ToString(), "--device", "cpu", "--data-dir", RepoPaths.Sample);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr + resumed.Stdout);
        Assert.Contains("resuming", resumed.Stdout);
        Assert.Equal(info.Epoch + 1, Checkpoint.Load(Checkpoint.PathOf(run, "last")).Info!.Epoch);
    }

    [Fact]
    public void Bench_reports_rates_launches_and_a_kernel_profile_as_json()
    {
        var bench = Run("bench", "--device", "cpu", "--data-dir", RepoPaths.Sample, "--steps", "3", "--json");
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        var r = JsonDocument.Parse(bench.Stdout).RootElement;
        Assert.Equal("cpu", r.GetProperty("device").GetString());
        Assert.Equal(32, r.GetProperty("batch_size").GetInt32());
        Assert.True(r.GetProperty("train_images_per_s").GetDouble() > 0);
        Assert.True(r.GetProperty("eval_images_per_s").GetDouble() > 0);
        Assert.Equal(r.GetProperty("train_images_per_s").GetDouble() * 5.329152e-3, r.GetProperty("train_gflops").GetDouble(), 6);
        // The fused step on the CPU path: gather, conv block, 2 dense forwards, loss, dense2's parameters and input,
        // dense1's ReLU mask, parameters and input, conv block backward, Adam; and no host synchronisation inside the
        // timed steps.
        Assert.Equal(12.0, r.GetProperty("launches_per_step").GetDouble());
        Assert.Equal(0.0, r.GetProperty("syncs_per_step").GetDouble());
        var kernels = r.GetProperty("kernels").EnumerateArray().ToArray();
        Assert.Equal(12.0, kernels.Sum(k => k.GetProperty("launches_per_step").GetDouble()));
        Assert.Equal(1.0, kernels.Sum(k => k.GetProperty("share").GetDouble()), 6);
    }

    [Fact]
    public void Devices_lists_the_cpu_accelerator_and_the_SIMD_engine_which_auto_picks_without_a_GPU()
    {
        var devices = Run("devices");
        Assert.Equal(0, devices.ExitCode);
        Assert.Contains("CPUAccelerator", devices.Stdout);
        var simd = devices.Stdout.Split('\n').Single(l => l.Contains("│ simd"));
        Assert.Contains("SIMD engine", simd);
        Assert.Contains("yes", simd);
    }

    [Fact]
    public void The_SIMD_engine_trains_and_evaluates_through_the_command_line()
    {
        var run = _temp.File("simd");
        var train = Run("train", "--data-dir", RepoPaths.Sample, "--device", "simd", "--limit-train", "640", "--epochs", "2", "--run-dir", run, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("device: simd (SIMD engine", train.Stderr);
        var epochs = train.Stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.True(epochs[1].GetProperty("train_loss").GetDouble() < epochs[0].GetProperty("train_loss").GetDouble());
        var evaluate = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        Assert.Equal("simd", JsonDocument.Parse(evaluate.Stdout).RootElement.GetProperty("device").GetString());
    }
}
