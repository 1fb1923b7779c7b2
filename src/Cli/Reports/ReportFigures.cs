using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;
using ScottPlot;
using SkiaSharp;

namespace FashionGpu.Cli.Reports;

/// <summary>The PNG figures of a run report, drawn headless with ScottPlot (charts) and SkiaSharp (image grid).</summary>
public static class ReportFigures
{
    public const int Width = 900;
    public const int Height = 500;

    public static void Curves(RunRecord run, string lossPath, string accuracyPath)
    {
        var epochs = run.Epochs.Select(e => (double)e.Epoch).ToArray();
        var loss = new Plot();
        Series(loss, epochs, run.Epochs.Select(e => e.TrainLoss), "training", Colors.C0);
        if (run.Epochs.All(e => e.ValidationLoss is not null))
            Series(loss, epochs, run.Epochs.Select(e => e.ValidationLoss!.Value), "validation", Colors.C1);
        if (run.Test?.Loss is { } testLoss)
            Marker(loss, testLoss, $"test {testLoss:F4}");
        Finish(loss, "Loss per epoch", "cross-entropy", epochs.Length);
        SavePng(loss, lossPath, Width, Height);

        var accuracy = new Plot();
        Series(accuracy, epochs, run.Epochs.Select(e => e.TrainAccuracy), "training", Colors.C0);
        if (run.Epochs.All(e => e.ValidationAccuracy is not null))
            Series(accuracy, epochs, run.Epochs.Select(e => e.ValidationAccuracy!.Value), "validation", Colors.C1);
        if (run.Test is { } test)
            Marker(accuracy, test.Accuracy, $"test {test.Accuracy:F4}");
        Finish(accuracy, "Accuracy per epoch", "accuracy", epochs.Length, Alignment.LowerRight);
        SavePng(accuracy, accuracyPath, Width, Height);
    }

    /// <summary>
    /// The learning rate of every step, from the run's schedule (a pure function of the step), with epochs on the x axis.
    /// Runs written before schedules existed have no steps-per-epoch figure and get no curve.
    /// </summary>
    public static bool LearningRate(RunRecord run, string path)
    {
        if (run.Config.StepsPerEpoch is not { } perEpoch || perEpoch < 1)
            return false;
        var schedule = Runtime.Training.LearningRateSchedule.For(run.Config.Settings, run.Config.Epochs, perEpoch);
        var steps = schedule.TotalSteps;
        // At most 2,000 points: every step of a short run, evenly spaced steps of a long one.
        var stride = Math.Max(1, steps / 2000);
        var at = Enumerable.Range(0, (int)((steps + stride - 1) / stride)).Select(i => 1 + i * stride).Append(steps).Distinct().ToArray();
        var plot = new Plot();
        var line = plot.Add.ScatterLine(at.Select(t => (double)t / perEpoch).ToArray(), at.Select(t => schedule.RateAt(t)).ToArray(), Colors.C0);
        line.LineWidth = 2;
        line.LegendText = $"{run.Config.Settings.Schedule}, peak {run.Config.Settings.LearningRate:G4}";
        // Rates lie in [0, peak]; fixed limits keep a constant schedule from being drawn as a line at 0 of ±1.
        plot.Axes.SetLimitsY(0, run.Config.Settings.LearningRate * 1.1);
        plot.Title("Learning rate per step");
        plot.XLabel("epoch");
        plot.YLabel("learning rate");
        plot.ShowLegend(Alignment.UpperRight);
        SavePng(plot, path, Width, Height);
        return true;
    }

    private static void Series(Plot plot, double[] x, IEnumerable<double> y, string label, Color color)
    {
        var s = plot.Add.Scatter(x, y.ToArray(), color);
        s.LegendText = label;
        s.LineWidth = 2;
        s.MarkerSize = 8;
    }

    private static void Marker(Plot plot, double value, string label)
    {
        var line = plot.Add.HorizontalLine(value, 2, Colors.C2, LinePattern.Dashed);
        line.LegendText = label;
    }

    private static void Finish(Plot plot, string title, string yLabel, int epochs, Alignment legend = Alignment.UpperRight)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(1, epochs).Select(e => (double)e).ToArray(),
            Enumerable.Range(1, epochs).Select(e => e.ToString()).ToArray());
        plot.ShowLegend(legend);
    }

    /// <summary>Colour = share of the true class (row %), text = count and row %.</summary>
    public static void Confusion(EvaluationReportFile test, string path)
    {
        var k = test.Confusion.Length;
        var names = test.Classes.Select(c => c.Name).ToArray();
        var share = new double[k, k];
        for (var t = 0; t < k; t++)
        {
            var total = Math.Max(1, test.Confusion[t].Sum());
            for (var p = 0; p < k; p++)
                share[t, p] = (double)test.Confusion[t][p] / total;
        }
        var plot = new Plot();
        for (var t = 0; t < k; t++)
        {
            for (var p = 0; p < k; p++)
            {
                // Row t is drawn at y = t on an inverted axis, so the first class is the top row.
                var cell = plot.Add.Rectangle(p - 0.5, p + 0.5, t + 0.5, t - 0.5);
                cell.FillColor = Shade(share[t, p]);
                cell.LineColor = Colors.White;
                var text = plot.Add.Text($"{test.Confusion[t][p]}\n{share[t, p]:P0}", p, t);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 11;
                text.LabelFontColor = share[t, p] > 0.5 ? Colors.White : Colors.Black;
            }
        }
        var ticks = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, names);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Left.SetTicks(ticks, names);
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.SetLimits(-0.5, k - 0.5, k - 0.5, -0.5);
        plot.Title("Confusion matrix (rows: true class, columns: predicted; colour: share of the row)");
        plot.XLabel("predicted");
        plot.YLabel("true");
        SavePng(plot, path, 1000, 900);
    }

    /// <summary>White for 0, deep blue for 1.</summary>
    private static Color Shade(double share)
    {
        var f = Math.Clamp(share, 0, 1);
        byte Mix(int from, int to) => (byte)Math.Round(from + (to - from) * f);
        return new Color(Mix(255, 0x08), Mix(255, 0x30), Mix(255, 0x6b));
    }

    public static void PerClass(EvaluationReportFile test, string path)
    {
        var plot = new Plot();
        var metrics = new (string Name, Func<ClassRow, double> Value, Color Color)[]
        {
            ("precision", c => c.Precision, Colors.C0), ("recall", c => c.Recall, Colors.C1), ("F1", c => c.F1, Colors.C2),
        };
        for (var m = 0; m < metrics.Length; m++)
        {
            var bars = test.Classes.Select((c, i) => new Bar { Position = i * 4 + m, Value = metrics[m].Value(c), FillColor = metrics[m].Color }).ToArray();
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = metrics[m].Name, FillColor = metrics[m].Color });
        }
        plot.Axes.Bottom.SetTicks(test.Classes.Select((_, i) => i * 4 + 1.0).ToArray(), test.Classes.Select(c => c.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.SetLimits(-1, test.Classes.Count * 4 - 1, 0, 1.25);
        plot.Title("Per-class precision, recall and F1 (test set)");
        plot.ShowLegend(Alignment.UpperCenter, Orientation.Horizontal);
        SavePng(plot, path, 1000, 560);
    }

    /// <summary>A grid of misclassified test images, 4x enlarged, captioned with the true class and the prediction.</summary>
    public static void Misclassified(EvaluationReportFile test, LabeledImages testSet, string path, int columns = 8)
    {
        const int scale = 4;
        const int cellWidth = 28 * scale + 40;
        const int imageTop = 6;
        const int cellHeight = 28 * scale + 50;
        var items = test.Misclassified;
        var rows = Math.Max(1, (items.Count + columns - 1) / columns);
        using var surface = SKSurface.Create(new SKImageInfo(columns * cellWidth, rows * cellHeight));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 12);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var wrong = new SKPaint { Color = new SKColor(0xB0, 0x20, 0x20), IsAntialias = true };
        using var pixel = new SKPaint();
        for (var n = 0; n < items.Count; n++)
        {
            var item = items[n];
            var x0 = n % columns * cellWidth + 20;
            var y0 = n / columns * cellHeight + imageTop;
            for (var y = 0; y < 28; y++)
            {
                for (var x = 0; x < 28; x++)
                {
                    var v = testSet.Pixels[item.Index * 784 + y * 28 + x];
                    pixel.Color = new SKColor(v, v, v);
                    canvas.DrawRect(x0 + x * scale, y0 + y * scale, scale, scale, pixel);
                }
            }
            var names = FashionMnistShape.ClassNames;
            canvas.DrawText($"true: {names[item.Label]}", x0, y0 + 28 * scale + 15, SKTextAlign.Left, font, ink);
            canvas.DrawText($"pred: {names[item.Predicted]} {item.Confidence:P0}", x0, y0 + 28 * scale + 31, SKTextAlign.Left, font, wrong);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        Runtime.Checkpoints.AtomicFile.WriteAllBytes(path, png.ToArray());
    }

    /// <summary>Every figure is written atomically, so an interrupted report leaves the old figure or the new one, never half.</summary>
    public static void SavePng(Plot plot, string path, int width, int height)
    {
        using var image = plot.GetImage(width, height);
        Runtime.Checkpoints.AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
    }
}
