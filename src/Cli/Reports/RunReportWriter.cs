using System.Globalization;
using System.Net;
using System.Text;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Cli.Reports;

/// <summary>
/// Writes a run's report into its directory: loss.png, accuracy.png, and once evaluated confusion.png,
/// per_class.png and misclassified.png, plus report.html, which shows them with the numbers. The page has no external
/// resources: inline CSS, and images referenced by file name beside it.
/// </summary>
public static class RunReportWriter
{
    /// <param name="testSet">The test images, for the grid of misclassified ones (skipped without them).</param>
    public static IReadOnlyList<string> Write(RunRecord run, LabeledImages? testSet)
    {
        var written = new List<string>();
        string In(string name) => Path.Combine(run.Directory, name);
        if (run.Epochs.Count > 0)
        {
            ReportFigures.Curves(run, In("loss.png"), In("accuracy.png"));
            written.AddRange(["loss.png", "accuracy.png"]);
            if (ReportFigures.LearningRate(run, In("learning_rate.png")))
                written.Add("learning_rate.png");
        }
        if (run.Test is { } test)
        {
            ReportFigures.Confusion(test, In("confusion.png"));
            ReportFigures.PerClass(test, In("per_class.png"));
            written.AddRange(["confusion.png", "per_class.png"]);
            if (testSet is not null && test.Misclassified.Count > 0 && test.Misclassified.Max(m => m.Index) < testSet.Count)
            {
                ReportFigures.Misclassified(test, testSet, In("misclassified.png"));
                written.Add("misclassified.png");
            }
        }
        Runtime.Checkpoints.AtomicFile.WriteAllText(In("report.html"), Html(run, written));
        written.Add("report.html");
        return written;
    }

    private static string Html(RunRecord run, IReadOnlyList<string> figures)
    {
        var inv = CultureInfo.InvariantCulture;
        string E(object? v) => WebUtility.HtmlEncode(Convert.ToString(v, inv) ?? "");
        string F(double v, int digits = 4) => v.ToString("F" + digits, inv);
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>FashionGpu run {{E(Path.GetFileName(run.Directory))}}</title>
            <style>
            body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1040px; padding: 0 1rem; }
            h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
            .sub { color: #59636e; margin-top: 0; }
            .cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1.2rem 0; }
            .card { border: 1px solid #d0d7de; border-radius: 8px; padding: .7rem 1rem; min-width: 150px; }
            .card .v { font-size: 1.5rem; font-weight: 600; } .card .k { color: #59636e; font-size: .85rem; }
            table { border-collapse: collapse; margin: .6rem 0; } th, td { padding: .3rem .7rem; border-bottom: 1px solid #eaeef2; text-align: right; }
            th:first-child, td:first-child { text-align: left; } th { background: #f6f8fa; }
            img { max-width: 100%; border: 1px solid #eaeef2; border-radius: 6px; margin: .5rem 0; }
            code { background: #f6f8fa; padding: .1rem .3rem; border-radius: 4px; font-size: .85rem; word-break: break-all; }
            </style></head><body>
            <h1>FashionGpu run <code>{{E(Path.GetFileName(run.Directory))}}</code></h1>
            <p class="sub">{{E(run.Directory)}} · device {{E(run.Config.Device)}} · {{run.Epochs.Count}} of {{run.Config.Epochs}} epochs</p>
            <div class="cards">
            """);
        void Card(string label, string value) => html.Append(inv, $"<div class=\"card\"><div class=\"v\">{value}</div><div class=\"k\">{E(label)}</div></div>\n");
        if (run.Test is { } t)
        {
            Card("test accuracy", F(t.Accuracy));
            if (t.TtaAccuracy is { } tta)
                Card($"test accuracy with {t.Tta} test-time augmentation", F(tta));
            Card("macro precision", F(t.MacroPrecision));
            Card("macro recall", F(t.MacroRecall));
        }
        if (run.BestValidationAccuracy is { } best)
            Card("best validation accuracy", F(best));
        if (run.ImagesPerSecond is { } rate)
            Card("training images/s", rate.ToString("N0", inv));
        html.Append("</div>\n");

        html.Append("<h2>Training</h2>\n");
        foreach (var figure in new[] { "loss.png", "accuracy.png", "learning_rate.png" }.Where(figures.Contains))
            html.Append(inv, $"<img src=\"{figure}\" alt=\"{figure}\">\n");
        html.Append("<table><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th><th>seconds</th><th>images/s</th></tr>\n");
        foreach (var e in run.Epochs)
            html.Append(inv, $"<tr><td>{e.Epoch}{(e.IsBest ? " (best)" : "")}</td><td>{F(e.TrainLoss)}</td><td>{F(e.TrainAccuracy)}</td><td>{(e.ValidationLoss is { } vl ? F(vl) : "–")}</td><td>{(e.ValidationAccuracy is { } va ? F(va) : "–")}</td><td>{F(e.Seconds, 1)}</td><td>{e.ImagesPerSecond.ToString("N0", inv)}</td></tr>\n");
        html.Append("</table>\n");

        if (run.Test is { } test)
        {
            html.Append(inv, $"<h2>Test set</h2>\n<p>{test.Samples:N0} images from <code>{E(test.Data)}</code> ({E(test.DataVerification)}), checkpoint <code>{E(test.Checkpoint)}</code>, evaluated on {E(test.Device)} in {F(test.Seconds, 2)} s.</p>\n");
            html.Append("<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
            foreach (var c in test.Classes)
                html.Append(inv, $"<tr><td>{E(c.Name)}</td><td>{F(c.Precision, 3)}</td><td>{F(c.Recall, 3)}</td><td>{F(c.F1, 3)}</td><td>{c.Support}</td></tr>\n");
            html.Append(inv, $"<tr><th>macro avg</th><th>{F(test.MacroPrecision, 3)}</th><th>{F(test.MacroRecall, 3)}</th><th>{F(test.MacroF1, 3)}</th><th>{test.Samples}</th></tr></table>\n");
            foreach (var figure in new[] { "per_class.png", "confusion.png" }.Where(figures.Contains))
                html.Append(inv, $"<img src=\"{figure}\" alt=\"{figure}\">\n");
            if (figures.Contains("misclassified.png"))
                html.Append(inv, $"<h2>Misclassified test images</h2>\n<p>The first {test.Misclassified.Count} mistakes in test-set order, with the model's confidence in its wrong answer.</p>\n<img src=\"misclassified.png\" alt=\"misclassified test images\">\n");
        }

        var s = run.Config.Settings;
        html.Append("<h2>Configuration</h2>\n<table>\n");
        void Row(string k, object? v) => html.Append(inv, $"<tr><td>{E(k)}</td><td>{E(v)}</td></tr>\n");
        Row("device", run.Config.Device);
        Row("recipe", run.Config.RecipeLine);
        Row("epochs", run.Config.Epochs);
        Row("batch size", s.BatchSize);
        Row("learning rate", s.LearningRate);
        if (s.Optimizer != "sgd")
            Row("β1, β2, ε", $"{s.Beta1}, {s.Beta2}, {s.Epsilon}");
        var model = new ModelPlan(run.Config.Model ?? ModelPresets.Seed(s.Normalize == true ? ModelDefinition.ScaledPixels : 1f));
        Row("model", string.Join(" → ", model.Layers.Select(l => l.Definition.Describe())));
        Row("seed", s.Seed);
        Row("pixels", model.PixelScale == 1f ? "raw 0..255" : $"× {model.PixelScale:0.#########}");
        Row("validation split", run.Config.ValidationSplit);
        Row("training images", run.Config.LimitTrain is { } l ? $"first {l}" : "all");
        Row("parameters", model.ParameterCount.ToString("N0", inv));
        Row("data", $"{run.Config.DataDirectory} ({run.Config.DataOrigin}; {run.Config.DataVerification})");
        html.Append(inv, $"<tr><td>training images SHA-256</td><td><code>{E(run.Config.TrainPixelsSha256)}</code></td></tr>\n");
        html.Append(inv, $"<tr><td>training labels SHA-256</td><td><code>{E(run.Config.TrainLabelsSha256)}</code></td></tr>\n");
        if (run.Test is { } tested)
            html.Append(inv, $"<tr><td>test images SHA-256</td><td><code>{E(tested.TestPixelsSha256)}</code></td></tr>\n");
        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }
}
