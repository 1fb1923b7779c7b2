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
    /// <summary>With <paramref name="mirrorTta"/>, each image's probabilities are the mean of its own and its mirror's.</summary>
    public static Evaluation Evaluate(IEngine engine, LabeledImages data, bool mirrorTta = false)
    {
        using var uploaded = engine.Upload(data);
        var logits = Logits(engine, uploaded, Enumerable.Range(0, data.Count).ToArray(), mirrorTta);
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
