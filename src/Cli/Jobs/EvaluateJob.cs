using System.Globalization;
using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Output;
using FashionGpu.Cli.Reports;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Model;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace FashionGpu.Cli.Jobs;

/// <summary>`fashiongpu evaluate`: a checkpoint on the test set; prints and writes report.txt and report.json.</summary>
public sealed class EvaluateJob(IOptions<EvaluateOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        o.Validate();
        var (textPath, jsonPath) = o.Output is { } requested ? ReportPaths(requested) : (null, null);
        var output = o.Json ? Console.Error : Console.Out;
        var chosen = ChosenCheckpoint.Load(o.Run, o.Checkpoint);
        var (checkpointPath, model, state, info) = (chosen.Path, chosen.Model, chosen.State, chosen.Info);
        var settings = info?.Config.Settings ?? new TrainingSettings();

        var source = DataLocator.Locate(o.DataDir, [Split.Test]);
        var test = FashionMnist.Load(source, Split.Test);
        RunAnnouncer.Data(output, source, test);
        using var engine = EngineFactory.Open(DeviceSpec.Parse(o.Device), model, settings with { BatchSize = 1 });
        output.WriteLine($"device: {engine.DeviceId} ({engine.DeviceName}); checkpoint: {checkpointPath}");
        engine.LoadState(state);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tta = TestTimeAugmentation.Parse(o.Tta);
        var (evaluation, ttaAccuracy) = Evaluator.Evaluate(engine, test.Data, tta, stopping);
        var report = evaluation.Report;
        var seconds = clock.Elapsed.TotalSeconds;

        var text = model.Summary() + Environment.NewLine + report.ToText() + (ttaAccuracy is { } t ? TtaLine(tta, t) + Environment.NewLine : "");
        var file = new EvaluationReportFile
        {
            Checkpoint = Path.GetFullPath(checkpointPath), Epoch = info?.Epoch, Data = source.Directory, DataVerification = test.Verification,
            TestPixelsSha256 = test.PixelsSha256, Device = engine.DeviceId, Tta = tta.ToString(), TtaAccuracy = ttaAccuracy, Seconds = seconds, Parameters = model.ParameterCount,
            Samples = report.Samples, Accuracy = report.Accuracy, MacroPrecision = report.MacroPrecision, MacroRecall = report.MacroRecall,
            MacroF1 = report.MacroF1, Loss = report.MeanLoss,
            Classes = report.Classes.Select(c => new ClassRow(c.Name, c.Precision, c.Recall, c.F1, c.Support)).ToArray(),
            Confusion = report.Confusion,
            Misclassified = evaluation.Misclassified(test.Data.Labels, 32).Select(m => new MisclassifiedRow(m.Index, m.Label, m.Predicted, m.Confidence)).ToArray(),
        };
        var json = JsonSerializer.Serialize(file, EvaluationReportFile.Json);

        stopping.ThrowIfCancellationRequested();
        textPath ??= chosen.ReportPath;
        jsonPath ??= Path.ChangeExtension(textPath, ".json");
        AtomicFile.WriteAllText(textPath, text);
        AtomicFile.WriteAllText(jsonPath, json + "\n");

        if (o.Json)
            Console.Out.WriteLine(json);
        else
        {
            Print(report, model);
            if (ttaAccuracy is { } augmented)
                AnsiConsole.WriteLine(TtaLine(tta, augmented));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evaluated {report.Samples:N0} images{(tta.IsNone ? "" : $" and their {tta.Extra}")} in {seconds:F2} s; wrote {textPath} and {jsonPath}"));
        if (o.Output is null && chosen.IsRun && File.Exists(Path.Combine(chosen.Directory, "config.json")))
            RunReports.WriteQuietly(chosen.Directory, o.DataDir, output, test.Data);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// --output FILE: the text report in FILE and the JSON beside it with the extension .json; a FILE that ends in .json
    /// takes the JSON, and the text goes beside it with .txt. Both are checked before the evaluation runs.
    /// </summary>
    private static (string Text, string Json) ReportPaths(string output)
    {
        var isJson = string.Equals(Path.GetExtension(output), ".json", StringComparison.OrdinalIgnoreCase);
        var (text, json) = isJson ? (Path.ChangeExtension(output, ".txt"), output) : (output, Path.ChangeExtension(output, ".json"));
        OutputFile.Check("--output", text);
        OutputFile.Check("--output", json);
        OutputFile.Distinct("--output", text, json);
        return (text, json);
    }

    private static string TtaLine(TestTimeAugmentation tta, double accuracy) =>
        string.Create(CultureInfo.InvariantCulture, $"Accuracy with {tta} test-time augmentation ({tta.Merge}; not the model alone): {accuracy:F4}");

    private static void Print(ClassificationReport report, ModelPlan model)
    {
        AnsiConsole.Write(ModelTable.Of(model));

        var inv = CultureInfo.InvariantCulture;
        AnsiConsole.WriteLine(string.Create(inv, $"Accuracy: {report.Accuracy:F3}"));
        AnsiConsole.WriteLine(string.Create(inv, $"Precision: {report.MacroPrecision:F3}"));
        AnsiConsole.WriteLine(string.Create(inv, $"Recall: {report.MacroRecall:F3}"));

        var classes = new Table().Title("Per class").AddColumn("Class");
        foreach (var h in new[] { "Precision", "Recall", "F1", "Support" })
            classes.AddColumn(h, c => c.RightAligned());
        foreach (var c in report.Classes)
            classes.AddRow(Markup.Escape(c.Name), c.Precision.ToString("F3", inv), c.Recall.ToString("F3", inv), c.F1.ToString("F3", inv), c.Support.ToString(inv));
        classes.AddRow("[bold]macro avg[/]", report.MacroPrecision.ToString("F3", inv), report.MacroRecall.ToString("F3", inv),
            report.MacroF1.ToString("F3", inv), report.Samples.ToString(inv));
        AnsiConsole.Write(classes);

        var confusion = new Table().Title("Confusion matrix (rows: true, columns: predicted)").AddColumn("");
        for (var p = 0; p < report.Classes.Count; p++)
            confusion.AddColumn(p.ToString(inv), c => c.RightAligned());
        for (var t = 0; t < report.Classes.Count; t++)
            confusion.AddRow([Markup.Escape($"{t} {report.Classes[t].Name}"), .. report.Confusion[t].Select(v => v.ToString(inv))]);
        AnsiConsole.Write(confusion);
    }
}
