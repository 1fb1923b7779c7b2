using System.Globalization;
using System.Text;

namespace FashionGpu.Runtime.Evaluation;

public sealed record ClassMetrics(string Name, double Precision, double Recall, double F1, int Support);

/// <summary>
/// Accuracy, macro precision/recall/F1 and the per-class table of a classifier, from labels and predictions.
/// Confusion[t][p] counts samples of true class t predicted as p. A class never predicted has precision 0 (as
/// scikit-learn's zero_division=0).
/// </summary>
public sealed record ClassificationReport(
    int Samples, double Accuracy, double MacroPrecision, double MacroRecall, double MacroF1, double? MeanLoss,
    IReadOnlyList<ClassMetrics> Classes, int[][] Confusion)
{
    public static ClassificationReport From(IReadOnlyList<byte> labels, IReadOnlyList<int> predictions, IReadOnlyList<string> classNames,
        double? meanLoss = null)
    {
        if (labels.Count != predictions.Count)
            throw new ArgumentException($"{labels.Count} labels but {predictions.Count} predictions");
        var k = classNames.Count;
        var confusion = Enumerable.Range(0, k).Select(_ => new int[k]).ToArray();
        for (var i = 0; i < labels.Count; i++)
            confusion[labels[i]][predictions[i]]++;
        var classes = new List<ClassMetrics>();
        var correct = 0;
        for (var c = 0; c < k; c++)
        {
            var tp = confusion[c][c];
            correct += tp;
            var predicted = confusion.Sum(row => row[c]);
            var support = confusion[c].Sum();
            var precision = predicted == 0 ? 0 : (double)tp / predicted;
            var recall = support == 0 ? 0 : (double)tp / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            classes.Add(new ClassMetrics(classNames[c], precision, recall, f1, support));
        }
        var n = labels.Count;
        return new ClassificationReport(n, n == 0 ? 0 : (double)correct / n, classes.Average(c => c.Precision),
            classes.Average(c => c.Recall), classes.Average(c => c.F1), meanLoss, classes, confusion);
    }

    /// <summary>The plain-text report (report.txt): what the reference printed, plus the per-class table and confusion matrix.</summary>
    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"Accuracy: {Accuracy:F3}");
        text.AppendLine(inv, $"Precision: {MacroPrecision:F3}");
        text.AppendLine(inv, $"Recall: {MacroRecall:F3}");
        if (MeanLoss is { } loss)
            text.AppendLine(inv, $"Loss: {loss:F4}");
        text.AppendLine();
        var width = Math.Max(12, Classes.Max(c => c.Name.Length) + 2);
        text.AppendLine(inv, $"{"".PadLeft(width)}{"precision",10}{"recall",10}{"f1-score",10}{"support",10}");
        foreach (var c in Classes)
            text.AppendLine(inv, $"{c.Name.PadLeft(width)}{c.Precision,10:F3}{c.Recall,10:F3}{c.F1,10:F3}{c.Support,10}");
        text.AppendLine();
        text.AppendLine(inv, $"{"macro avg".PadLeft(width)}{MacroPrecision,10:F3}{MacroRecall,10:F3}{MacroF1,10:F3}{Samples,10}");
        text.AppendLine();
        text.AppendLine("Confusion matrix (rows: true class, columns: predicted class)");
        text.Append("".PadLeft(width));
        for (var p = 0; p < Classes.Count; p++)
            text.Append(inv, $"{p,6}");
        text.AppendLine();
        for (var t = 0; t < Classes.Count; t++)
        {
            text.Append(inv, $"{$"{t} {Classes[t].Name}".PadLeft(width)}");
            foreach (var count in Confusion[t])
                text.Append(inv, $"{count,6}");
            text.AppendLine();
        }
        return text.ToString();
    }
}
