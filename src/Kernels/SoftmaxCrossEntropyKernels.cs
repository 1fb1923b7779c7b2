using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>Logits [Batch, Classes]; <see cref="GradientScale"/> is 1/Batch for the batch-mean loss.</summary>
public readonly struct LossShape
{
    public LossShape(int batch, int classes)
    {
        Batch = batch;
        Classes = classes;
        GradientScale = 1f / batch;
    }

    public int Batch { get; }
    public int Classes { get; }
    public float GradientScale { get; }
}

public static class SoftmaxCrossEntropyKernels
{
    /// <summary>
    /// One thread per sample, softmax and sparse cross-entropy fused: with m = max z, lse = m + log Σ exp(z - m),
    /// loss[n] = lse - z[label]; dz = (softmax(z) - onehot(label))·GradientScale; correct[n] = 1 when the first
    /// maximum of z is the label. Per-sample losses are summed later in a fixed order, never with atomics.
    /// Launch: Batch threads.
    /// </summary>
    public static void ForwardBackward(
        Index1D n, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> dLogits, ArrayView<float> loss,
        ArrayView<int> correct, LossShape s)
    {
        var row = n * s.Classes;
        var label = labels[n];
        var max = logits[row];
        var best = 0;
        for (var c = 1; c < s.Classes; c++)
        {
            var z = logits[row + c];
            if (z > max) { max = z; best = c; }
        }
        var sum = 0f;
        for (var c = 0; c < s.Classes; c++)
            sum += MathF.Exp(logits[row + c] - max);
        var logSum = MathF.Log(sum);
        for (var c = 0; c < s.Classes; c++)
        {
            var p = MathF.Exp(logits[row + c] - max - logSum);
            dLogits[row + c] = (c == label ? p - 1f : p) * s.GradientScale;
        }
        loss[n] = logSum - (logits[row + label] - max);
        correct[n] = best == label ? 1 : 0;
    }

    /// <summary>One thread per sample: the class with the largest logit (the first on ties). Launch: Batch threads.</summary>
    public static void Argmax(Index1D n, ArrayView<float> logits, ArrayView<int> predictions, LossShape s)
    {
        var row = n * s.Classes;
        var max = logits[row];
        var best = 0;
        for (var c = 1; c < s.Classes; c++)
        {
            var z = logits[row + c];
            if (z > max) { max = z; best = c; }
        }
        predictions[n] = best;
    }
}
