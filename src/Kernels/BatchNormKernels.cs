using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Batch normalisation of x [Batch, Channels, Spatial] per channel (Spatial = H·W after a conv, 1 after a dense layer),
/// with PyTorch's semantics: batch statistics while training (biased variance to normalise, unbiased for the running
/// variance), running statistics in inference, momentum 0.1 and eps 1e-5.
/// </summary>
public readonly struct BatchNormShape
{
    public const float Momentum = 0.1f;
    public const float Epsilon = 1e-5f;

    public BatchNormShape(int batch, int channels, int spatial)
    {
        Batch = batch;
        Channels = channels;
        Spatial = spatial;
    }

    public int Batch { get; }
    public int Channels { get; }
    public int Spatial { get; }
    /// <summary>Values per channel in a batch.</summary>
    public int PerChannel => Batch * Spatial;
    public int Elements => Batch * Channels * Spatial;
    public int ChannelOf(int element) => element / Spatial % Channels;
}

/// <summary>
/// Batchnorm forward and backward. Per-channel sums run in one thread per channel in (n, s) order, in double: the
/// same bits every run, no atomics. `saved` holds the normalisation in use, mean then 1/sqrt(var + eps), per channel.
/// </summary>
public static class BatchNormKernels
{
    /// <summary>
    /// One thread per channel: the batch's mean and biased variance into saved; when <paramref name="updateRunning"/>
    /// ≠ 0, running = (1 - momentum)·running + momentum·batch (unbiased variance). Launch: Channels threads.
    /// </summary>
    public static void Statistics(Index1D c, ArrayView<float> x, ArrayView<float> saved, ArrayView<float> runningMean,
        ArrayView<float> runningVar, BatchNormShape s, int updateRunning)
    {
        double sum = 0;
        for (var n = 0; n < s.Batch; n++)
        {
            var b = (n * s.Channels + c) * s.Spatial;
            for (var i = 0; i < s.Spatial; i++)
                sum += x[b + i];
        }
        var count = s.PerChannel;
        var mean = sum / count;
        double squares = 0;
        for (var n = 0; n < s.Batch; n++)
        {
            var b = (n * s.Channels + c) * s.Spatial;
            for (var i = 0; i < s.Spatial; i++)
            {
                var d = x[b + i] - mean;
                squares += d * d;
            }
        }
        Finish(c, mean, squares, count, saved, runningMean, runningVar, s, updateRunning);
    }

    /// <summary>
    /// The GPU path's first stage of <see cref="Statistics"/>: one thread per (channel, image) writes that image's mean
    /// and sum of squared deviations (two passes, in double) to partials[(c·Batch + n)·2 ..]. Launch: Channels·Batch threads.
    /// </summary>
    public static void StatisticsPartials(Index1D thread, ArrayView<float> x, ArrayView<double> partials, BatchNormShape s)
    {
        var c = thread / s.Batch;
        var n = thread % s.Batch;
        var b = (n * s.Channels + c) * s.Spatial;
        double sum = 0;
        for (var i = 0; i < s.Spatial; i++)
            sum += x[b + i];
        var mean = sum / s.Spatial;
        double squares = 0;
        for (var i = 0; i < s.Spatial; i++)
        {
            var d = x[b + i] - mean;
            squares += d * d;
        }
        partials[2 * thread] = mean;
        partials[2 * thread + 1] = squares;
    }

    /// <summary>
    /// The second stage: one thread per channel merges its images' (mean, squares). Every image holds Spatial values, so
    /// the batch mean is the mean of the image means and the squares are Σ squares + Spatial·Σ (image mean - mean)²
    /// (the parallel form of Chan et al.'s update), each sum in <see cref="StridedSum"/>'s fixed order; it finishes as
    /// <see cref="Statistics"/> does. Launch: Channels threads.
    /// </summary>
    public static void MergeStatistics(Index1D c, ArrayView<double> partials, ArrayView<float> saved, ArrayView<float> runningMean,
        ArrayView<float> runningVar, BatchNormShape s, int updateRunning)
    {
        var first = 2 * c * s.Batch;
        var mean = StridedSum.Of(partials, first, 2, s.Batch) / s.Batch;
        var squares = StridedSum.Of(partials, first + 1, 2, s.Batch)
            + (double)s.Spatial * StridedSum.OfSquaredDeviations(partials, first, 2, s.Batch, mean);
        Finish(c, mean, squares, s.PerChannel, saved, runningMean, runningVar, s, updateRunning);
    }

    /// <summary>
    /// The GPU path's first stage of <see cref="ParameterGradients"/>: one thread per (channel, image) writes its Σ dy
    /// and Σ dy·x̂ to partials[(c·Batch + n)·2 ..]. Launch: Channels·Batch threads.
    /// </summary>
    public static void ParameterGradientPartials(Index1D thread, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> saved,
        ArrayView<double> partials, BatchNormShape s)
    {
        var c = thread / s.Batch;
        var n = thread % s.Batch;
        var (mean, invstd) = (saved[c], saved[s.Channels + c]);
        var b = (n * s.Channels + c) * s.Spatial;
        double sumDy = 0, sumDyXhat = 0;
        for (var i = 0; i < s.Spatial; i++)
        {
            var g = dy[b + i];
            sumDy += g;
            sumDyXhat += g * ((x[b + i] - mean) * invstd);
        }
        partials[2 * thread] = sumDy;
        partials[2 * thread + 1] = sumDyXhat;
    }

    /// <summary>
    /// The second stage: one thread per channel adds its images' partials (<see cref="StridedSum"/>'s fixed order).
    /// Launch: Channels threads.
    /// </summary>
    public static void SumParameterGradients(Index1D c, ArrayView<double> partials, ArrayView<float> dWeight, ArrayView<float> dBias, BatchNormShape s)
    {
        dBias[c] = (float)StridedSum.Of(partials, 2 * c * s.Batch, 2, s.Batch);
        dWeight[c] = (float)StridedSum.Of(partials, 2 * c * s.Batch + 1, 2, s.Batch);
    }

    /// <summary>
    /// A channel's batch statistics from its mean and sum of squared deviations over count values: saved gets the mean
    /// and 1/sqrt(biased variance + eps); the running statistics move by the momentum (unbiased variance) when asked.
    /// </summary>
    private static void Finish(int c, double mean, double squares, double count, ArrayView<float> saved, ArrayView<float> runningMean,
        ArrayView<float> runningVar, BatchNormShape s, int updateRunning)
    {
        var variance = squares / count;
        saved[c] = (float)mean;
        saved[s.Channels + c] = (float)(1.0 / Math.Sqrt(variance + BatchNormShape.Epsilon));
        if (updateRunning != 0)
        {
            var unbiased = count > 1 ? squares / (count - 1) : variance;
            runningMean[c] = (1f - BatchNormShape.Momentum) * runningMean[c] + BatchNormShape.Momentum * (float)mean;
            runningVar[c] = (1f - BatchNormShape.Momentum) * runningVar[c] + BatchNormShape.Momentum * (float)unbiased;
        }
    }

    /// <summary>One thread per channel: saved = running mean and 1/sqrt(running var + eps), for inference. Launch: Channels threads.</summary>
    public static void RunningStatistics(Index1D c, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saved, BatchNormShape s)
    {
        saved[c] = runningMean[c];
        saved[s.Channels + c] = 1f / MathF.Sqrt(runningVar[c] + BatchNormShape.Epsilon);
    }

    /// <summary>y = (x - mean)·invstd·weight + bias with saved's statistics. Launch: range.Stride threads.</summary>
    public static void Normalize(Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> saved, BatchNormShape s, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var c = s.ChannelOf(i);
            y[i] = (x[i] - saved[c]) * saved[s.Channels + c] * weight[c] + bias[c];
        }
    }

    /// <summary>
    /// One thread per channel: dBias = Σ dy, dWeight = Σ dy·x̂ with x̂ = (x - mean)·invstd, in (n, s) order.
    /// Launch: Channels threads.
    /// </summary>
    public static void ParameterGradients(Index1D c, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> saved,
        ArrayView<float> dWeight, ArrayView<float> dBias, BatchNormShape s)
    {
        var (mean, invstd) = (saved[c], saved[s.Channels + c]);
        double sumDy = 0, sumDyXhat = 0;
        for (var n = 0; n < s.Batch; n++)
        {
            var b = (n * s.Channels + c) * s.Spatial;
            for (var i = 0; i < s.Spatial; i++)
            {
                var g = dy[b + i];
                sumDy += g;
                sumDyXhat += g * ((x[b + i] - mean) * invstd);
            }
        }
        dBias[c] = (float)sumDy;
        dWeight[c] = (float)sumDyXhat;
    }

    /// <summary>
    /// dx = weight·invstd/M · (M·dy - dBias - x̂·dWeight), M values per channel (the batch statistics' own gradient
    /// included). Launch: range.Stride threads.
    /// </summary>
    public static void BackwardInput(Index1D thread, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, ArrayView<float> weight,
        ArrayView<float> saved, ArrayView<float> dWeight, ArrayView<float> dBias, BatchNormShape s, ElementRange range)
    {
        float m = s.PerChannel;
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var c = s.ChannelOf(i);
            var invstd = saved[s.Channels + c];
            var xhat = (x[i] - saved[c]) * invstd;
            dx[i] = weight[c] * invstd / m * (m * dy[i] - dBias[c] - xhat * dWeight[c]);
        }
    }
}
