using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="BatchNormKernels"/> on the host: channels in parallel, each channel's sums in (n, s) order in double, so
/// the bits do not depend on the core count. <c>saved</c> holds mean then 1/sqrt(var + eps) per channel.
/// </summary>
public static class SimdBatchNorm
{
    /// <summary>
    /// y = (x - mean)·invstd·weight + bias. Training: the batch's statistics into saved, and the running statistics
    /// updated; inference: the running statistics.
    /// </summary>
    public static void Forward(float[] x, float[] y, float[] parameters, int weight, int bias, int runningMean, int runningVar,
        float[] saved, BatchNormShape s, bool training, ParallelOptions options)
    {
        Parallel.For(0, s.Channels, options, c =>
        {
            if (training)
            {
                var (sum, squares) = (0.0, 0.0);
                for (var n = 0; n < s.Batch; n++)
                    foreach (var v in Plane(x, s, n, c))
                        sum += v;
                var count = s.PerChannel;
                var mean = sum / count;
                for (var n = 0; n < s.Batch; n++)
                    foreach (var v in Plane(x, s, n, c))
                        squares += (v - mean) * (v - mean);
                var variance = squares / count;
                saved[c] = (float)mean;
                saved[s.Channels + c] = (float)(1.0 / Math.Sqrt(variance + BatchNormShape.Epsilon));
                var unbiased = count > 1 ? squares / (count - 1) : variance;
                ref var rm = ref parameters[runningMean + c];
                ref var rv = ref parameters[runningVar + c];
                rm = (1f - BatchNormShape.Momentum) * rm + BatchNormShape.Momentum * (float)mean;
                rv = (1f - BatchNormShape.Momentum) * rv + BatchNormShape.Momentum * (float)unbiased;
            }
            else
            {
                saved[c] = parameters[runningMean + c];
                saved[s.Channels + c] = 1f / MathF.Sqrt(parameters[runningVar + c] + BatchNormShape.Epsilon);
            }
            var (m, invstd, w, b) = (saved[c], saved[s.Channels + c], parameters[weight + c], parameters[bias + c]);
            for (var n = 0; n < s.Batch; n++)
            {
                var source = Plane(x, s, n, c);
                var target = Plane(y, s, n, c);
                for (var i = 0; i < source.Length; i++)
                    target[i] = (source[i] - m) * invstd * w + b;
            }
        });
    }

    /// <summary>dWeight = Σ dy·x̂, dBias = Σ dy; dx = weight·invstd/M·(M·dy - dBias - x̂·dWeight) when dx is not null.</summary>
    public static void Backward(float[] x, float[] dy, float[]? dx, float[] parameters, int weight, float[] saved,
        float[] gradients, int dWeight, int dBias, BatchNormShape s, ParallelOptions options)
    {
        Parallel.For(0, s.Channels, options, c =>
        {
            var (mean, invstd) = (saved[c], saved[s.Channels + c]);
            var (sumDy, sumDyXhat) = (0.0, 0.0);
            for (var n = 0; n < s.Batch; n++)
            {
                var xs = Plane(x, s, n, c);
                var gs = Plane(dy, s, n, c);
                for (var i = 0; i < xs.Length; i++)
                {
                    sumDy += gs[i];
                    sumDyXhat += gs[i] * ((xs[i] - mean) * invstd);
                }
            }
            var (db, dw) = ((float)sumDy, (float)sumDyXhat);
            gradients[dBias + c] = db;
            gradients[dWeight + c] = dw;
            if (dx is null)
                return;
            float m = s.PerChannel;
            var w = parameters[weight + c];
            for (var n = 0; n < s.Batch; n++)
            {
                var xs = Plane(x, s, n, c);
                var gs = Plane(dy, s, n, c);
                var target = Plane(dx, s, n, c);
                for (var i = 0; i < xs.Length; i++)
                    target[i] = w * invstd / m * (m * gs[i] - db - (xs[i] - mean) * invstd * dw);
            }
        });
    }

    private static Span<float> Plane(float[] a, BatchNormShape s, int n, int c) => a.AsSpan((n * s.Channels + c) * s.Spatial, s.Spatial);
}
