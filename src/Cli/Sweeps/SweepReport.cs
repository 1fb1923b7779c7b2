using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FashionGpu.Cli.Reports;
using FashionGpu.Runtime.Checkpoints;
using ScottPlot;
using Spectre.Console;

namespace FashionGpu.Cli.Sweeps;

/// <summary>
/// `fashiongpu sweep report`: every trial (its varied settings, validation and test accuracy, time, state) sorted by
/// the sweep's metric, the best trial and its `train` command line, a figure of the metric against each varied setting
/// and sweep.html beside them; `--json` prints `trials` and `best`.
/// </summary>
public static class SweepReport
{
    private sealed record Row(Trial Trial, TrialState State, double? Validation, double? Test, double? Tta, double? Seconds, string? Error)
    {
        public double? Metric(SweepDefinition sweep) => sweep.Metric switch { "test_accuracy" => Test, "tta_accuracy" => Tta, _ => Validation };
    }

    public static int Write(SweepDirectory dir, bool json)
    {
        var (sweep, trials) = dir.Load();
        var rows = trials.Select(t => Read(dir, t)).ToList();
        var ranked = rows.OrderBy(r => r.Metric(sweep) is null ? 1 : 0)
            .ThenBy(r => (sweep.Maximize ? -1 : 1) * (r.Metric(sweep) ?? 0)).ThenBy(r => r.Trial.Index).ToList();
        var best = ranked.FirstOrDefault(r => r.State == TrialState.Done && r.Metric(sweep) is not null);
        var varied = trials.Count > 0 ? trials[0].Varied : [];
        var figures = Figures(dir, sweep, rows, varied);
        AtomicFile.WriteAllText(Path.Combine(dir.Path, "sweep.html"), Html(dir, sweep, ranked, best, varied, figures));

        if (json)
        {
            var result = new JsonObject
            {
                ["metric"] = sweep.Metric,
                ["goal"] = sweep.Maximize ? "maximize" : "minimize",
                ["trials"] = new JsonArray(ranked.Select(r => (JsonNode)Node(r)).ToArray()),
                ["best"] = best is null ? null : new JsonObject { ["index"] = best.Trial.Index, ["metric"] = best.Metric(sweep), ["command"] = Command(best.Trial) },
            };
            Console.Out.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title($"{dir.Path}: {trials.Count} trials by {sweep.Metric} ({(sweep.Maximize ? "highest" : "lowest")} first)").AddColumn("trial");
        foreach (var key in varied.Append("seed"))
            table.AddColumn(key, c => c.RightAligned());
        var hasTta = sweep.HasTta;
        foreach (var h in new[] { "validation", "test" }.Concat(hasTta ? [$"test, {sweep.Tta} TTA"] : []).Append("seconds"))
            table.AddColumn(h, c => c.RightAligned());
        table.AddColumn("state");
        foreach (var r in ranked)
            table.AddRow([r.Trial.Index.ToString(inv), .. varied.Append("seed").Select(k => Markup.Escape(Value(r.Trial, k))),
                r.Validation?.ToString("F4", inv) ?? "-", r.Test?.ToString("F4", inv) ?? "-", .. hasTta ? [r.Tta?.ToString("F4", inv) ?? "-"] : Array.Empty<string>(),
                r.Seconds?.ToString("F1", inv) ?? "-",
                Markup.Escape(r.State.ToString().ToLowerInvariant() + (r.Error is null ? "" : $": {r.Error}"))]);
        AnsiConsole.Write(table);
        Console.Out.WriteLine(best is null ? "no trial has finished yet"
            : string.Create(inv, $"best: trial {best.Trial.Index}, {sweep.Metric} {best.Metric(sweep):F4}: {Command(best.Trial)}"));
        Console.Out.WriteLine($"report: {Path.Combine(dir.Path, "sweep.html")}");
        return ExitCodes.Ok;
    }

    private static Row Read(SweepDirectory dir, Trial trial)
    {
        var run = dir.TrialDirectory(trial.Index);
        var state = dir.State(trial.Index);
        double? validation = null, test = null, tta = null, seconds = null;
        string? error = null;
        var metrics = Path.Combine(run, "metrics.jsonl");
        if (File.Exists(metrics))
        {
            var accuracies = File.ReadAllLines(metrics).Where(l => l.Length > 0)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("validation_accuracy"))
                .Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).ToArray();
            validation = accuracies.Length > 0 ? accuracies.Max() : null;
        }
        var report = Path.Combine(run, "report.json");
        if (File.Exists(report) && EvaluationReportFile.Read(report) is { } evaluated)
            (test, tta) = (evaluated.Accuracy, evaluated.TtaAccuracy);
        if (state == TrialState.Done)
            seconds = JsonDocument.Parse(File.ReadAllText(dir.DoneFile(trial.Index))).RootElement.GetProperty("seconds").GetDouble();
        if (state == TrialState.Failed)
            error = JsonDocument.Parse(File.ReadAllText(dir.FailedFile(trial.Index))).RootElement.GetProperty("error").GetString();
        return new Row(trial, state, validation, test, tta, seconds, error);
    }

    private static JsonObject Node(Row r) => new()
    {
        ["index"] = r.Trial.Index,
        ["settings"] = new JsonObject(r.Trial.Settings.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value.DeepClone()))),
        ["state"] = r.State.ToString().ToLowerInvariant(),
        ["validation_accuracy"] = r.Validation,
        ["test_accuracy"] = r.Test,
        ["tta_accuracy"] = r.Tta,
        ["seconds"] = r.Seconds,
        ["error"] = r.Error,
    };

    private static string Value(Trial trial, string key) =>
        trial.Settings.TryGetValue(key, out var v) ? (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()) : "";

    /// <summary>The `train` command that repeats a trial.</summary>
    public static string Command(Trial trial) => $"{CommandName.Value} train {string.Join(" ", trial.TrainArguments())}";

    private static List<string> Figures(SweepDirectory dir, SweepDefinition sweep, IReadOnlyList<Row> rows, IReadOnlyList<string> varied)
    {
        var files = new List<string>();
        var measured = rows.Where(r => r.Metric(sweep) is not null).ToList();
        if (measured.Count == 0)
            return files;
        foreach (var key in varied)
        {
            var plot = new Plot();
            var values = measured.Select(r => r.Trial.Settings[key]).ToList();
            var numeric = values.All(v => v.GetValueKind() == JsonValueKind.Number);
            var categories = numeric ? [] : values.Select(v => v.ToJsonString()).Distinct().ToList();
            var logScale = numeric && key == "learning_rate";
            var xs = values.Select(v => numeric ? (logScale ? Math.Log10(v.GetValue<double>()) : v.GetValue<double>()) : categories.IndexOf(v.ToJsonString())).ToArray();
            var scatter = plot.Add.ScatterPoints(xs, measured.Select(r => r.Metric(sweep)!.Value).ToArray());
            scatter.MarkerSize = 10;
            plot.Title($"{sweep.Metric} against {key}");
            plot.XLabel(logScale ? $"log10 {key}" : key);
            plot.YLabel(sweep.Metric);
            if (!numeric)
                plot.Axes.Bottom.SetTicks(Enumerable.Range(0, categories.Count).Select(i => (double)i).ToArray(), categories.ToArray());
            var name = $"sweep_{key}.png";
            ReportFigures.SavePng(plot, Path.Combine(dir.Path, name), 700, 420);
            files.Add(name);
        }
        return files;
    }

    private static string Html(SweepDirectory dir, SweepDefinition sweep, IReadOnlyList<Row> ranked, Row? best, IReadOnlyList<string> varied, IReadOnlyList<string> figures)
    {
        string E(object? v) => WebUtility.HtmlEncode(Convert.ToString(v, CultureInfo.InvariantCulture) ?? "");
        string F(double? v) => v?.ToString("F4", CultureInfo.InvariantCulture) ?? "–";
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>FashionGpu sweep</title><style>body{font-family:sans-serif;margin:2em;max-width:70em}" +
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}code{background:#f4f4f4;padding:.2em}</style></head><body>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Sweep {E(Path.GetFullPath(dir.Path))}</h1>\n<p>{ranked.Count} trials ranked by {E(sweep.Metric)} ({(sweep.Maximize ? "highest" : "lowest")} first).</p>\n");
        if (best is not null)
            html.Append(CultureInfo.InvariantCulture, $"<p>Best: trial {best.Trial.Index}, {E(sweep.Metric)} {F(best.Metric(sweep))}: <code>{E(Command(best.Trial))}</code></p>\n");
        foreach (var figure in figures)
            html.Append(CultureInfo.InvariantCulture, $"<img src=\"{E(figure)}\" alt=\"{E(figure)}\">\n");
        html.Append("<table><tr><th>trial</th>");
        foreach (var key in varied.Append("seed"))
            html.Append(CultureInfo.InvariantCulture, $"<th>{E(key)}</th>");
        var ttaColumn = sweep.HasTta;
        html.Append(CultureInfo.InvariantCulture, $"<th>validation</th><th>test</th>{(ttaColumn ? $"<th>test, {E(sweep.Tta)} TTA</th>" : "")}<th>seconds</th><th>state</th></tr>\n");
        foreach (var r in ranked)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{r.Trial.Index}</td>");
            foreach (var key in varied.Append("seed"))
                html.Append(CultureInfo.InvariantCulture, $"<td>{E(Value(r.Trial, key))}</td>");
            html.Append(CultureInfo.InvariantCulture, $"<td>{F(r.Validation)}</td><td>{F(r.Test)}</td>{(ttaColumn ? $"<td>{F(r.Tta)}</td>" : "")}<td>{E(r.Seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "–")}</td><td>{E(r.State.ToString().ToLowerInvariant())}{(r.Error is null ? "" : ": " + E(r.Error))}</td></tr>\n");
        }
        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }
}
