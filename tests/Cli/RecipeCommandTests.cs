using System.Globalization;
using System.Text.Json;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>Recipes through the real process: a preset with flags over it, what train prints and records, test-time augmentation, time to accuracy.</summary>
public sealed class RecipeCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    [Fact]
    public void A_recipe_with_flags_over_it_is_printed_recorded_and_kept_on_resume()
    {
        var run = Path.Combine(_temp.Path, "run");
        var train = Run("train", "--model", "fast", "--epochs", "2", "--batch-size", "64", "--augment", "shift:1,flip", "--label-smoothing", "0.1",
            "--limit-train", "640", "--data-dir", RepoPaths.Sample, "--run-dir", run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("recipe: fast: 2 epochs, batch 64, adamw 0.006 (onecycle, warmup 0.75 epochs, weight decay 0.05), augment flip,shift:1, label smoothing 0.1", train.Stdout);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal("fast", config.GetProperty("recipe").GetString());
        var settings = config.GetProperty("settings");
        Assert.Equal(("adamw", "onecycle", "flip,shift:1", 64), (settings.GetProperty("optimizer").GetString(), settings.GetProperty("schedule").GetString(),
            settings.GetProperty("augment").GetString(), settings.GetProperty("batch_size").GetInt32()));
        Assert.Equal(0, config.GetProperty("validation_split").GetDouble());
        // All 640 images in steps of 64: 10 steps an epoch; the one-cycle curve ends near peak/25/10⁴ at the last step.
        Assert.Equal(10, config.GetProperty("steps_per_epoch").GetInt32());
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(0.006 / 25 / 1e4, metrics[1].GetProperty("learning_rate").GetDouble(), 12);

        var longer = Run("train", "--resume", run, "--epochs", "3");
        CliAssert.OneErrorLine(longer, 2, $"--resume continues {run} with its own settings; drop --epochs (the run's is 2, and its onecycle schedule spans them)");
        var plain = Run("train", "--resume", run, "--augment", "none");
        CliAssert.OneErrorLine(plain, 2, $"--resume continues {run} with its own settings; drop --augment (the run's is flip,shift:1)");
    }

    [Fact]
    public void The_record_recipe_trains_cnn4_with_the_best_recipes_settings()
    {
        var run = Path.Combine(_temp.Path, "record");
        var train = Run("train", "--model", "record", "--epochs", "1", "--limit-train", "256", "--data-dir", RepoPaths.Sample, "--run-dir", run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("Total params: 872,426 (871,530 trainable); 38.284 MFLOP per image forward", train.Stdout);
        Assert.Contains("recipe: record: 1 epoch, batch 128, adamw 0.006 (onecycle, weight decay 0.05), augment flip,shift:2, label smoothing 0.1, weight average (EMA) 0.998", train.Stdout);
        Assert.Contains("--tta shift (the record recipe's accuracy is quoted with it)", train.Stdout);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal("record", config.GetProperty("recipe").GetString());
    }

    [Fact]
    public void Evaluate_and_predict_with_tta_average_the_image_and_its_mirror()
    {
        var run = Path.Combine(_temp.Path, "run");
        Assert.Equal(0, Run("train", "--limit-train", "400", "--epochs", "1", "--data-dir", RepoPaths.Sample, "--run-dir", run, "--device", "simd").ExitCode);
        var plain = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--json", "--output", _temp.File("plain.txt"));
        var tta = Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--json", "--tta", "flip", "--output", _temp.File("tta.txt"));
        Assert.True(tta.ExitCode == 0, tta.Stderr);
        Assert.Contains("and their mirrors", tta.Stderr);
        var (a, b) = (JsonDocument.Parse(plain.Stdout).RootElement, JsonDocument.Parse(tta.Stdout).RootElement);
        Assert.Equal(("none", "flip"), (a.GetProperty("tta").GetString(), b.GetProperty("tta").GetString()));
        // The model's own figures stay the model's; the augmented accuracy is a figure of its own, labelled as such.
        foreach (var figure in new[] { "accuracy", "loss", "macro_f1" })
            Assert.Equal(a.GetProperty(figure).GetDouble(), b.GetProperty(figure).GetDouble());
        Assert.False(a.TryGetProperty("tta_accuracy", out _));
        var augmented = b.GetProperty("tta_accuracy").GetDouble();
        Assert.InRange(augmented, 0.3, 1);
        Assert.Contains("Accuracy with flip test-time augmentation (each image averaged with its mirror; not the model alone)", File.ReadAllText(_temp.File("tta.txt")));

        // Evaluated into the run with TTA: the report and the exported model keep the plain figure as the test accuracy.
        Assert.Equal(0, Run("evaluate", "--run", run, "--data-dir", RepoPaths.Sample, "--device", "simd", "--tta", "flip").ExitCode);
        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains(a.GetProperty("accuracy").GetDouble().ToString("F4", System.Globalization.CultureInfo.InvariantCulture) + "</div><div class=\"k\">test accuracy</div>", html);
        Assert.Contains("test accuracy with flip test-time augmentation", html);
        Assert.Equal(0, Run("export", "--run", run).ExitCode);
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(run, "model.onnx")))
        {
            var metadata = session.ModelMetadata.CustomMetadataMap;
            Assert.Equal(a.GetProperty("accuracy").GetDouble(), double.Parse(metadata["test_accuracy"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(augmented, double.Parse(metadata["test_accuracy_with_flip_tta"], System.Globalization.CultureInfo.InvariantCulture));
        }

        var image = Path.Combine(RepoPaths.Sample, "t10k-images-idx3-ubyte.gz");
        var once = JsonDocument.Parse(Run("predict", "--run", run, "--device", "simd", "--json", image).Stdout).RootElement;
        var mirrored = JsonDocument.Parse(Run("predict", "--run", run, "--device", "simd", "--json", "--tta", "flip", image).Stdout).RootElement;
        Assert.Equal(once.GetArrayLength(), mirrored.GetArrayLength());
        Assert.NotEqual(once[0].GetProperty("top")[0].GetProperty("probability").GetDouble(), mirrored[0].GetProperty("top")[0].GetProperty("probability").GetDouble());

        // Six views: the engine gathers them, the ONNX path moves the pixels itself; the answers agree.
        var engine = JsonDocument.Parse(Run("predict", "--run", run, "--device", "simd", "--json", "--tta", "flip,shift", image).Stdout).RootElement;
        var onnx = JsonDocument.Parse(Run("predict", "--onnx", Path.Combine(run, "model.onnx"), "--json", "--tta", "flip,shift", image).Stdout).RootElement;
        Assert.Equal(engine.GetArrayLength(), onnx.GetArrayLength());
        for (var i = 0; i < engine.GetArrayLength(); i++)
        {
            var (e, x) = (engine[i].GetProperty("top")[0], onnx[i].GetProperty("top")[0]);
            Assert.Equal(e.GetProperty("class").GetString(), x.GetProperty("class").GetString());
            Assert.Equal(e.GetProperty("probability").GetDouble(), x.GetProperty("probability").GetDouble(), 4);
        }
        Assert.NotEqual(mirrored[0].GetProperty("top")[0].GetProperty("probability").GetDouble(), engine[0].GetProperty("top")[0].GetProperty("probability").GetDouble());
    }

    [Fact]
    public void Bench_to_accuracy_reports_when_the_target_was_reached_or_that_it_was_not()
    {
        string[] common = ["bench", "--model", "fast", "--data-dir", RepoPaths.Sample, "--device", "simd", "--json"];
        var reached = Run([.. common, "--to-accuracy", "0.3"]);
        Assert.True(reached.ExitCode == 0, reached.Stderr);
        var r = JsonDocument.Parse(reached.Stdout).RootElement;
        Assert.True(r.GetProperty("reached").GetBoolean());
        var epochs = r.GetProperty("epochs");
        Assert.Equal(r.GetProperty("epoch").GetInt32(), epochs.GetArrayLength());
        Assert.True(epochs[epochs.GetArrayLength() - 1].GetProperty("test_accuracy").GetDouble() >= 0.3);
        Assert.Equal(epochs[epochs.GetArrayLength() - 1].GetProperty("seconds").GetDouble(), r.GetProperty("seconds").GetDouble());

        // Judged on the TTA figure when asked, with a peer's time beside ours.
        var shifted = JsonDocument.Parse(Run([.. common, "--to-accuracy", "0.3", "--tta", "shift", "--seed", "7", "--peer-seconds", "100"]).Stdout).RootElement;
        Assert.Equal(("shift", 7UL), (shifted.GetProperty("tta").GetString(), shifted.GetProperty("seed").GetUInt64()));
        var last = shifted.GetProperty("epochs")[shifted.GetProperty("epochs").GetArrayLength() - 1];
        Assert.True(last.GetProperty("tta_accuracy").GetDouble() >= 0.3);
        Assert.Equal(100 / shifted.GetProperty("seconds").GetDouble(), shifted.GetProperty("peer_ratio").GetDouble(), 9);

        var missed = JsonDocument.Parse(Run([.. common, "--to-accuracy", "1"]).Stdout).RootElement;
        Assert.False(missed.GetProperty("reached").GetBoolean());
        Assert.Equal(Recipes.Of("fast").Epochs, missed.GetProperty("epochs").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, missed.GetProperty("seconds").ValueKind);
    }
}
