using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Logits [Batch, Classes]; <see cref="GradientScale"/> is 1/Batch for the batch-mean loss. With label smoothing ε the
/// target of a sample is (1-ε)·onehot(label) + ε/Classes, as torch.nn.CrossEntropyLoss(label_smoothing=ε) has it.
/// </summary>
public readonly struct LossShape
{
    public LossShape(int batch, int classes, float smoothing = 0f)
    {
        Batch = batch;
        Classes = classes;
        GradientScale = 1f / batch;
        Smoothing = smoothing;
    }

    public int Batch { get; }
    public int Classes { get; }
    public float GradientScale { get; }
    public float Smoothing { get; }

    /// <summary>The target probability of class c for a sample labelled <paramref name="label"/>.</summary>
    public float Target(int c, int label) => (c == label ? 1f - Smoothing : 0f) + Smoothing / Classes;
}

public static class SoftmaxCrossEntropyKernels
{
    /// <summary>
    /// One thread per sample, softmax and cross-entropy fused: with m = max z, lse = m + log Σ exp(z - m) and target t
    /// (<see cref="LossShape.Target"/>), loss[n] = lse - Σ t·z; dz = (softmax(z) - t)·GradientScale; correct[n] = 1 when
    /// the first maximum of z is the label. Per-sample losses are summed later in a fixed order, never with atomics.
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
        var targetSum = 0f;
        for (var c = 0; c < s.Classes; c++)
        {
            var shifted = logits[row + c] - max;
            var p = MathF.Exp(shifted - logSum);
            var t = s.Target(c, label);
            dLogits[row + c] = (p - t) * s.GradientScale;
            targetSum += t * shifted;
        }
        loss[n] = logSum - targetSum;
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
