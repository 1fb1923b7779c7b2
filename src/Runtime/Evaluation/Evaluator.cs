using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Runtime.Evaluation;

/// <summary>The report on a labelled set, with each image's prediction and the model's confidence in it.</summary>
public sealed record Evaluation(ClassificationReport Report, int[] Predictions, double[] Confidences)
{
    /// <summary>The first <paramref name="count"/> misclassified images, in set order.</summary>
    public IEnumerable<(int Index, int Label, int Predicted, double Confidence)> Misclassified(IReadOnlyList<byte> labels, int count) =>
        Enumerable.Range(0, Predictions.Length).Where(i => Predictions[i] != labels[i]).Take(count)
            .Select(i => (i, (int)labels[i], Predictions[i], Confidences[i]));
}

/// <summary>Runs a labelled set through an engine's model (inference: no dropout) and reports on it.</summary>
public static class Evaluator
{
    /// <summary>The model's own report on <paramref name="data"/>; with <paramref name="mirrorTta"/> also the accuracy
    /// of test-time augmentation (each image's probabilities the mean of its own and its mirror's), which is a
    /// different figure, never the model's.</summary>
    public static (Evaluation Plain, double? MirrorTtaAccuracy) Evaluate(IEngine engine, LabeledImages data, bool mirrorTta,
        CancellationToken cancellation = default)
    {
        using var uploaded = engine.Upload(data);
        var indices = Enumerable.Range(0, data.Count).ToArray();
        var logits = engine.Logits(uploaded, indices);
        var plain = Report(logits, data);
        if (!mirrorTta)
            return (plain, null);
        cancellation.ThrowIfCancellationRequested();
        var averaged = LogitMetrics.AverageProbabilities(logits, engine.Logits(uploaded, indices, mirrored: true));
        return (plain, LogitMetrics.Evaluate(averaged, data.Labels).Accuracy);
    }

    public static Evaluation Evaluate(IEngine engine, LabeledImages data) => Evaluate(engine, data, mirrorTta: false).Plain;

    private static Evaluation Report(float[] logits, LabeledImages data)
    {
        var (loss, _, predictions) = LogitMetrics.Evaluate(logits, data.Labels);
        var confidences = Enumerable.Range(0, data.Count).Select(i => LogitMetrics.Probabilities(logits, i)[predictions[i]]).ToArray();
        return new Evaluation(ClassificationReport.From(data.Labels, predictions, FashionMnistShape.ClassNames, loss), predictions, confidences);
    }

    /// <summary>The engine's logits, or with <paramref name="mirrorTta"/> the log of the mean probabilities of each image and its mirror.</summary>
    public static float[] Logits(IEngine engine, IEngineDataset data, int[] indices, bool mirrorTta)
    {
        var logits = engine.Logits(data, indices);
        return mirrorTta ? LogitMetrics.AverageProbabilities(logits, engine.Logits(data, indices, mirrored: true)) : logits;
    }
}
