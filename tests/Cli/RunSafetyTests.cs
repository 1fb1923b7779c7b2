using System.Text.Json;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>What keeps runs and reports from being lost or silently wrong, through the real process.</summary>
public sealed class RunSafetyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    private string Train(string name, params string[] extra)
    {
        var run = Path.Combine(_temp.Path, name);
        var result = Run(["train", "--data-dir", RepoPaths.Sample, "--limit-train", "200", "--epochs", "1", "--run-dir", run, .. extra]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return run;
    }

    [Fact]
    public void Without_a_validation_set_nothing_is_reported_as_a_validation_figure()
    {
        var run = Path.Combine(_temp.Path, "all");
        var result = Run("train", "--data-dir", RepoPaths.Sample, "--limit-train", "200", "--epochs", "2", "--validation-split", "0", "--run-dir", run, "--device", "simd");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.DoesNotContain("val_", result.Stdout);
        Assert.Contains("done: trained on every image (no validation set; best is the last epoch)", result.Stdout);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(l).RootElement.GetProperty("validation_accuracy").ValueKind));
        Assert.DoesNotContain("NaN", File.ReadAllText(Path.Combine(run, "metrics.jsonl")) + File.ReadAllText(Path.Combine(run, "report.html")));
        Assert.Null(Checkpoint.Load(Checkpoint.PathOf(run, "best")).Info!.BestValidationAccuracy);
        Assert.Equal(2, Checkpoint.Load(Checkpoint.PathOf(run, "best")).Info!.Epoch);
    }

    [Fact]
    public void A_resumed_run_keeps_its_device_and_a_changed_one_is_said_out_loud_and_recorded()
    {
        var run = Train("cpu", "--device", "cpu");
        var same = Run("train", "--resume", run, "--epochs", "2", "--data-dir", RepoPaths.Sample);
        Assert.True(same.ExitCode == 0, same.Stderr);
        Assert.Contains("device: cpu", same.Stdout);
        Assert.DoesNotContain("warning", same.Stdout);
        Assert.Contains("the run's own data directory)", Run("train", "--resume", run, "--epochs", "3").Stdout);

        var moved = Run("train", "--resume", run, "--epochs", "4", "--device", "simd");
        Assert.True(moved.ExitCode == 0, moved.Stderr);
        Assert.Contains($"warning: {run} was trained on cpu and continues on simd; the result will not be bit-identical", moved.Stdout);
        Assert.Equal("simd", JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement.GetProperty("device").GetString());
        Assert.Equal([1, 2, 3, 4], File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("epoch").GetInt32()));
    }

    [Fact]
    public void Metrics_of_epochs_after_the_resumed_checkpoint_are_trained_again_not_duplicated()
    {
        var run = Train("trim", "--device", "simd");
        // As if the process died after writing epoch 2's line but before its checkpoint.
        File.AppendAllText(Path.Combine(run, "metrics.jsonl"), File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))[0].Replace("\"epoch\":1", "\"epoch\":2") + "\n");
        var resumed = Run("train", "--resume", run, "--epochs", "2");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal([1, 2], File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("epoch").GetInt32()));
    }

    [Fact]
    public void Runs_never_share_a_directory_and_a_run_that_died_early_starts_again()
    {
        var busy = Path.Combine(_temp.Path, "busy");
        Directory.CreateDirectory(busy);
        using (new FileStream(Path.Combine(busy, ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            var refused = Run("train", "--data-dir", RepoPaths.Sample, "--run-dir", busy);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains($"another fashiongpu is training in {busy} right now", refused.Stderr);
        }

        var dead = Path.Combine(_temp.Path, "dead");
        Directory.CreateDirectory(dead);
        File.WriteAllText(Path.Combine(dead, "config.json"), "{}");
        var resume = Run("train", "--resume", dead);
        Assert.Equal(2, resume.ExitCode);
        Assert.Contains($"its run stopped before its first checkpoint, so there is nothing to resume; start it again with --run-dir {dead}", resume.Stderr);
        var again = Run("train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--run-dir", dead, "--device", "simd");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("starting it again", again.Stdout);
        Assert.True(File.Exists(Checkpoint.PathOf(dead, "last")));
        Assert.False(File.Exists(Path.Combine(dead, ".lock")));

        // Two runs started in the same second get two directories.
        using var first = CliProcess.Start(_temp.Path, ["train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--device", "simd"]);
        using var second = CliProcess.Start(_temp.Path, ["train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--device", "simd", "--seed", "7"]);
        Assert.Equal(0, first.WaitForExit(TimeSpan.FromMinutes(2)).ExitCode);
        Assert.Equal(0, second.WaitForExit(TimeSpan.FromMinutes(2)).ExitCode);
        var runs = Directory.GetDirectories(Path.Combine(_temp.Path, "runs"));
        Assert.True(runs.Length == 2, string.Join(", ", runs));
        Assert.Equal([42UL, 7UL], runs.Select(r => JsonDocument.Parse(File.ReadAllText(Path.Combine(r, "config.json"))).RootElement
            .GetProperty("settings").GetProperty("seed").GetUInt64()).OrderDescending());
    }

    [Fact]
    public void Two_checkpoints_in_one_folder_get_their_own_reports()
    {
        var run = Train("reports", "--device", "simd");
        foreach (var name in new[] { "best", "last" })
        {
            var evaluate = Run("evaluate", "--checkpoint", Checkpoint.PathOf(run, name), "--data-dir", RepoPaths.Sample, "--device", "simd");
            Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        }
        foreach (var file in new[] { "best.report.txt", "best.report.json", "last.report.txt", "last.report.json" })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        Assert.False(File.Exists(Path.Combine(run, "report.txt")));
    }

    [Fact]
    public void An_output_that_is_a_symbolic_link_is_written_through_and_two_reports_never_share_a_file()
    {
        var run = Train("outputs", "--device", "simd");
        // A link to a report elsewhere: the link stays a link, its target gets the report.
        var elsewhere = Directory.CreateDirectory(_temp.File("elsewhere")).FullName;
        File.WriteAllText(Path.Combine(elsewhere, "old.txt"), "old");
        File.CreateSymbolicLink(_temp.File("link.txt"), Path.Combine(elsewhere, "old.txt"));
        var evaluate = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--output", _temp.File("link.txt"));
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        Assert.NotNull(new FileInfo(_temp.File("link.txt")).LinkTarget);
        Assert.Contains("Accuracy", File.ReadAllText(Path.Combine(elsewhere, "old.txt")));
        Assert.Equal(File.ReadAllText(Path.Combine(elsewhere, "old.txt")), File.ReadAllText(_temp.File("link.txt")));
        Assert.Empty(Directory.GetFiles(elsewhere, ".*.tmp"));

        // A dangling link to a model file: the file it names is created, the link kept.
        File.CreateSymbolicLink(_temp.File("model-link.onnx"), Path.Combine(elsewhere, "model.onnx"));
        Assert.Equal(0, Run("export", "--run", run, "--output", _temp.File("model-link.onnx")).ExitCode);
        Assert.NotNull(new FileInfo(_temp.File("model-link.onnx")).LinkTarget);
        Assert.True(new FileInfo(Path.Combine(elsewhere, "model.onnx")).Length > 100_000);

        // --output NAME.json takes the JSON report; the text one goes beside it as NAME.txt.
        var json = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--output", _temp.File("r.json"));
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(File.ReadAllText(_temp.File("r.json"))).RootElement.ValueKind);
        Assert.StartsWith("#  Layer", File.ReadAllText(_temp.File("r.txt")));
    }
}
