using System.Globalization;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Reports;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace FashionGpu.Cli.Jobs;

public sealed class CompareRunsOptions
{
    public string[] Runs { get; set; } = [];
}

/// <summary>`fashiongpu compare RUN_A RUN_B`: two runs side by side.</summary>
public sealed class CompareJob(IOptions<CompareRunsOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var runs = options.Value.Runs;
        if (runs.Length != 2)
            throw new UsageException($"give two run directories: {CommandName.Value} compare RUN_A RUN_B");
        var (a, b) = (RunRecord.Load(runs[0]), RunRecord.Load(runs[1]));
        var inv = CultureInfo.InvariantCulture;
        string F(double? v, string format = "F4") => v?.ToString(format, inv) ?? "-";
        string Delta(double? x, double? y) => x is { } p && y is { } q ? (q - p).ToString("+0.0000;-0.0000;0", inv) : "";
        Console.Out.WriteLine($"A: {a.Directory}");
        Console.Out.WriteLine($"B: {b.Directory}");
        var table = new Table().AddColumn("").AddColumn("A", c => c.RightAligned()).AddColumn("B", c => c.RightAligned())
            .AddColumn("B - A", c => c.RightAligned());
        void Row(string name, double? x, double? y, string format = "F4", bool delta = true) =>
            table.AddRow(Markup.Escape(name), F(x, format), F(y, format), delta ? Delta(x, y) : "");
        table.AddRow("device", Markup.Escape(a.Config.Device), Markup.Escape(b.Config.Device), "");
        table.AddRow("epochs", a.Epochs.Count.ToString(inv), b.Epochs.Count.ToString(inv), "");
        table.AddRow("batch, lr, seed", Markup.Escape($"{a.Config.Settings.BatchSize}, {a.Config.Settings.LearningRate}, {a.Config.Settings.Seed}"),
            Markup.Escape($"{b.Config.Settings.BatchSize}, {b.Config.Settings.LearningRate}, {b.Config.Settings.Seed}"), "");
        Row("best validation accuracy", a.BestValidationAccuracy, b.BestValidationAccuracy);
        Row("final validation accuracy", a.Epochs.LastOrDefault()?.ValidationAccuracy, b.Epochs.LastOrDefault()?.ValidationAccuracy);
        Row("test accuracy", a.Test?.Accuracy, b.Test?.Accuracy);
        foreach (var mode in new[] { a.Test?.Tta, b.Test?.Tta }.OfType<string>().Where(m => m != "none").Distinct())
            Row($"test accuracy with {mode} TTA", a.Test?.Tta == mode ? a.Test.TtaAccuracy : null, b.Test?.Tta == mode ? b.Test.TtaAccuracy : null);
        Row("test macro precision", a.Test?.MacroPrecision, b.Test?.MacroPrecision);
        Row("test macro recall", a.Test?.MacroRecall, b.Test?.MacroRecall);
        Row("test macro F1", a.Test?.MacroF1, b.Test?.MacroF1);
        foreach (var name in (a.Test?.Classes ?? b.Test?.Classes ?? []).Select(c => c.Name))
            Row($"F1 {name}", a.Test?.Classes.Single(c => c.Name == name).F1, b.Test?.Classes.Single(c => c.Name == name).F1);
        Row("training images/s", a.ImagesPerSecond, b.ImagesPerSecond, "N0", delta: false);
        AnsiConsole.Write(table);
        foreach (var (label, run) in new[] { ("A", a), ("B", b) }.Where(r => r.Item2.Test is null))
            Console.Out.WriteLine($"note: {label} has no test figures yet; run '{CommandName.Value} evaluate --run {run.Directory}' to fill them in");
        return ExitCodes.Ok;
    }
}
