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
    public static Evaluation Evaluate(IEngine engine, LabeledImages data)
    {
        using var uploaded = engine.Upload(data);
        var logits = engine.Logits(uploaded, Enumerable.Range(0, data.Count).ToArray());
        var (loss, _, predictions) = LogitMetrics.Evaluate(logits, data.Labels);
        var confidences = Enumerable.Range(0, data.Count).Select(i => LogitMetrics.Probabilities(logits, i)[predictions[i]]).ToArray();
        return new Evaluation(ClassificationReport.From(data.Labels, predictions, FashionMnistShape.ClassNames, loss), predictions, confidences);
    }
}
