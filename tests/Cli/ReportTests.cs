using System.Globalization;
using System.Text.RegularExpressions;
using FashionGpu.Cli.Reports;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;
using SkiaSharp;

namespace FashionGpu.Tests.Cli;

public sealed partial class ReportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly LabeledImages TestSample =
        SampleData.Test;

    private RunRecord Run(bool evaluated)
    {
        var epochs = new[]
        {
            new EpochMetrics(1, 3, 1500, 1.47, 0.822, 0.359, 0.8695, 136.6, 375, true),
            new EpochMetrics(2, 3, 3000, 0.33, 0.878, 0.315, 0.8857, 122.3, 419, true),
            new EpochMetrics(3, 3, 4500, 0.288, 0.894, 0.312, 0.8881, 128.3, 400, true),
        };
        var confusion = Enumerable.Range(0, 10).Select(t => Enumerable.Range(0, 10).Select(p => t == p ? 40 : (t + p) % 3).ToArray()).ToArray();
        var test = new EvaluationReportFile
        {
            Samples = 500, Accuracy = 0.8123, MacroPrecision = 0.8234, MacroRecall = 0.8012, MacroF1 = 0.8111, Loss = 0.41,
            Classes = FashionMnistShape.ClassNames.Select((n, i) => new ClassRow(n, 0.8 + i / 100.0, 0.7 + i / 100.0, 0.75, 50)).ToArray(),
            Confusion = confusion, Device = "cpu", Data = RepoPaths.Sample,
            Misclassified = [new MisclassifiedRow(0, 9, 7, 0.61), new MisclassifiedRow(3, 1, 3, 0.93), new MisclassifiedRow(499, 4, 2, 0.55)],
        };
        // The evaluated run trained with a schedule (its steps per epoch recorded); the other is as runs were before schedules.
        var config = evaluated
            ? new RunConfiguration { Device = "cpu", Epochs = 3, StepsPerEpoch = 1500, Recipe = "fast",
                Settings = new TrainingSettings { Optimizer = "adamw", WeightDecay = 0.05, Schedule = "onecycle", LearningRate = 4e-3, Augment = "flip,shift:2" } }
            : new RunConfiguration { Device = "cpu", Epochs = 3 };
        return new RunRecord(_temp.Path, config, epochs, evaluated ? test : null);
    }

    private static (int Width, int Height) SizeOf(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        return (bitmap.Width, bitmap.Height);
    }

    [Fact]
    public void The_figures_are_PNGs_of_the_stated_sizes()
    {
        var written = RunReportWriter.Write(Run(evaluated: true), TestSample);

        Assert.Equal(["loss.png", "accuracy.png", "learning_rate.png", "confusion.png", "per_class.png", "misclassified.png", "report.html"], written);
        Assert.Equal((900, 500), SizeOf(_temp.File("loss.png")));
        Assert.Equal((900, 500), SizeOf(_temp.File("learning_rate.png")));
        Assert.Equal((900, 500), SizeOf(_temp.File("accuracy.png")));
        Assert.Equal((1000, 900), SizeOf(_temp.File("confusion.png")));
        Assert.Equal((1000, 560), SizeOf(_temp.File("per_class.png")));
        Assert.Equal((8 * 152, 1 * 162), SizeOf(_temp.File("misclassified.png")));
    }

    [Fact]
    public void The_page_references_only_files_that_exist_and_shows_the_run_s_numbers()
    {
        RunReportWriter.Write(Run(evaluated: true), TestSample);
        var html = File.ReadAllText(_temp.File("report.html"));

        var references = Reference().Matches(html).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(6, references.Length);
        Assert.All(references, r => Assert.True(File.Exists(_temp.File(r)), $"report.html references {r}, which does not exist"));
        Assert.DoesNotContain("http", html);
        foreach (var number in new[] { "0.8123", "0.8234", "0.8012", "0.8881", "0.8695", "693,962", "T-shirt/top", "Ankle boot", "0.890",
            "fast: 3 epochs, batch 32, adamw 0.004 (onecycle, weight decay 0.05), augment flip,shift:2" })
            Assert.Contains(number, html);
    }

    [Fact]
    public void A_run_not_yet_evaluated_gets_curves_only()
    {
        var written = RunReportWriter.Write(Run(evaluated: false), null);
        Assert.Equal(["loss.png", "accuracy.png", "report.html"], written);
        var html = File.ReadAllText(_temp.File("report.html"));
        Assert.DoesNotContain("confusion.png", html);
        Assert.Contains(0.8881.ToString("F4", CultureInfo.InvariantCulture), html);
    }

    [GeneratedRegex("(?:src|href)=\"([^\"]+)\"")]
    private static partial Regex Reference();
}
