using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Runtime.Evaluation;

/// <summary>Runs a labelled set through an engine's model (inference: no dropout) and reports on it.</summary>
public static class Evaluator
{
    public static ClassificationReport Evaluate(IEngine engine, LabeledImages data)
    {
        using var uploaded = engine.Upload(data);
        var logits = engine.Logits(uploaded, Enumerable.Range(0, data.Count).ToArray());
        var (loss, _, predictions) = LogitMetrics.Evaluate(logits, data.Labels);
        return ClassificationReport.From(data.Labels, predictions, ModelArchitecture.ClassNames, loss);
    }
}
