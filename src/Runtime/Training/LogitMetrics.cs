using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Training;

/// <summary>Mean cross-entropy, accuracy and predictions from logits, in double on the host.</summary>
public static class LogitMetrics
{
    public static (double MeanLoss, double Accuracy, int[] Predictions) Evaluate(float[] logits, IReadOnlyList<byte> labels)
    {
        const int classes = FashionMnistShape.Classes;
        var n = labels.Count;
        var predictions = new int[n];
        var loss = 0.0;
        var correct = 0;
        for (var i = 0; i < n; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            var best = 0;
            for (var c = 1; c < classes; c++)
                if (row[c] > row[best])
                    best = c;
            var sum = 0.0;
            for (var c = 0; c < classes; c++)
                sum += Math.Exp((double)row[c] - row[best]);
            loss += Math.Log(sum) + row[best] - row[labels[i]];
            predictions[i] = best;
            if (best == labels[i])
                correct++;
        }
        return n == 0 ? (double.NaN, double.NaN, predictions) : (loss / n, (double)correct / n, predictions);
    }

    /// <summary>
    /// Test-time augmentation's merge: log of the weighted mean of each view's softmax per row, in double. Its softmax is
    /// that mean, so the result serves wherever logits do (predictions, confidences, the loss).
    /// </summary>
    public static float[] AverageProbabilities(IReadOnlyList<(float[] Logits, double Weight)> views)
    {
        const int classes = FashionMnistShape.Classes;
        var result = new float[views[0].Logits.Length];
        var mean = new double[classes];
        for (var row = 0; row < result.Length / classes; row++)
        {
            Array.Clear(mean);
            foreach (var (logits, weight) in views)
            {
                var p = Probabilities(logits, row);
                for (var c = 0; c < classes; c++)
                    mean[c] += weight * p[c];
            }
            for (var c = 0; c < classes; c++)
                result[row * classes + c] = (float)Math.Log(mean[c]);
        }
        return result;
    }

    /// <summary>softmax(logits[row]) in double, max-subtracted.</summary>
    public static double[] Probabilities(float[] logits, int row)
    {
        const int classes = FashionMnistShape.Classes;
        var z = logits.AsSpan(row * classes, classes);
        var max = double.NegativeInfinity;
        foreach (var v in z)
            max = Math.Max(max, v);
        var p = new double[classes];
        var sum = 0.0;
        for (var c = 0; c < classes; c++)
            sum += p[c] = Math.Exp(z[c] - max);
        for (var c = 0; c < classes; c++)
            p[c] /= sum;
        return p;
    }
}
