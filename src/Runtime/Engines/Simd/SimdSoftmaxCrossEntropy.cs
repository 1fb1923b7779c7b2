using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="SoftmaxCrossEntropyKernels.ForwardBackward"/> on the host, sample by sample, in the same order.</summary>
public static class SimdSoftmaxCrossEntropy
{
    public static void ForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> dLogits,
        Span<float> loss, Span<int> correct, LossShape s)
    {
        for (var n = 0; n < s.Batch; n++)
        {
            var z = logits.Slice(n * s.Classes, s.Classes);
            var label = labels[n];
            var (max, best) = (z[0], 0);
            for (var c = 1; c < s.Classes; c++)
                if (z[c] > max)
                    (max, best) = (z[c], c);
            var sum = 0f;
            for (var c = 0; c < s.Classes; c++)
                sum += MathF.Exp(z[c] - max);
            var logSum = MathF.Log(sum);
            var targetSum = 0f;
            for (var c = 0; c < s.Classes; c++)
            {
                var shifted = z[c] - max;
                var p = MathF.Exp(shifted - logSum);
                var t = s.Target(c, label);
                dLogits[n * s.Classes + c] = (p - t) * s.GradientScale;
                targetSum += t * shifted;
            }
            loss[n] = logSum - targetSum;
            correct[n] = best == label ? 1 : 0;
        }
    }
}
