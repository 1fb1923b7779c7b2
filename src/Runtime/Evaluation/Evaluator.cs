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
    /// <summary>The model's own report on <paramref name="data"/>; with a <paramref name="tta"/> also the accuracy of
    /// test-time augmentation (each image's probabilities averaged over its views), which is a different figure,
    /// never the model's.</summary>
    public static (Evaluation Plain, double? TtaAccuracy) Evaluate(IEngine engine, LabeledImages data, TestTimeAugmentation tta,
        CancellationToken cancellation = default)
    {
        using var uploaded = engine.Upload(data);
        var indices = Enumerable.Range(0, data.Count).ToArray();
        var logits = engine.Logits(uploaded, indices);
        var plain = Report(logits, data);
        if (tta.IsNone)
            return (plain, null);
        return (plain, LogitMetrics.Evaluate(Logits(engine, uploaded, indices, tta, logits, cancellation), data.Labels).Accuracy);
    }

    public static Evaluation Evaluate(IEngine engine, LabeledImages data) => Evaluate(engine, data, TestTimeAugmentation.None).Plain;

    private static Evaluation Report(float[] logits, LabeledImages data)
    {
        var (loss, _, predictions) = LogitMetrics.Evaluate(logits, data.Labels);
        var confidences = Enumerable.Range(0, data.Count).Select(i => LogitMetrics.Probabilities(logits, i)[predictions[i]]).ToArray();
        return new Evaluation(ClassificationReport.From(data.Labels, predictions, FashionMnistShape.ClassNames, loss), predictions, confidences);
    }

    /// <summary>
    /// The engine's logits, or under a <paramref name="tta"/> the log of each image's probabilities averaged over its
    /// views (<paramref name="plain"/>: the plain view's logits when they are at hand).
    /// </summary>
    public static float[] Logits(IEngine engine, IEngineDataset data, int[] indices, TestTimeAugmentation tta, float[]? plain = null,
        CancellationToken cancellation = default) =>
        tta.Average(plain ?? engine.Logits(data, indices), view => engine.Logits(data, indices, view), cancellation);
}
