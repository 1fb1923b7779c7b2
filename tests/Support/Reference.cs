using FashionGpu.Kernels;

namespace FashionGpu.Tests.Support;

/// <summary>
/// The layers written the obvious way, in double precision: the independent reference every kernel is checked
/// against. Each result comes with the sum of |terms| that produced it, for the tolerance.
/// </summary>
public static class Reference
{
    public static (double[] Y, double[] Scale) ConvForward(double[] x, double[] w, double[] b, ConvShape s, bool relu)
    {
        var (oh, ow, k) = (s.OutHeight, s.OutWidth, s.KernelSize);
        var y = new double[s.Batch * s.OutChannels * oh * ow];
        var scale = new double[y.Length];
        for (var n = 0; n < s.Batch; n++)
        for (var co = 0; co < s.OutChannels; co++)
        for (var oy = 0; oy < oh; oy++)
        for (var ox = 0; ox < ow; ox++)
        {
            double acc = b[co], mag = Math.Abs(b[co]);
            for (var ci = 0; ci < s.InChannels; ci++)
            for (var ky = 0; ky < k; ky++)
            for (var kx = 0; kx < k; kx++)
            {
                var t = In(x, s, n, ci, oy + ky, ox + kx) * w[W(s, co, ci, ky, kx)];
                acc += t;
                mag += Math.Abs(t);
            }
            var i = ((n * s.OutChannels + co) * oh + oy) * ow + ox;
            y[i] = relu ? Math.Max(acc, 0) : acc;
            scale[i] = mag;
        }
        return (y, scale);
    }

    public static (double[] DW, double[] DB, double[] DWScale, double[] DBScale) ConvBackwardParameters(double[] x, double[] dy, ConvShape s)
    {
        var (oh, ow, k) = (s.OutHeight, s.OutWidth, s.KernelSize);
        var dw = new double[s.OutChannels * s.Taps];
        var dwScale = new double[dw.Length];
        var db = new double[s.OutChannels];
        var dbScale = new double[db.Length];
        for (var n = 0; n < s.Batch; n++)
        for (var co = 0; co < s.OutChannels; co++)
        for (var oy = 0; oy < oh; oy++)
        for (var ox = 0; ox < ow; ox++)
        {
            var g = dy[((n * s.OutChannels + co) * oh + oy) * ow + ox];
            db[co] += g;
            dbScale[co] += Math.Abs(g);
            for (var ci = 0; ci < s.InChannels; ci++)
            for (var ky = 0; ky < k; ky++)
            for (var kx = 0; kx < k; kx++)
            {
                var t = g * In(x, s, n, ci, oy + ky, ox + kx);
                dw[W(s, co, ci, ky, kx)] += t;
                dwScale[W(s, co, ci, ky, kx)] += Math.Abs(t);
            }
        }
        return (dw, db, dwScale, dbScale);
    }

    public static (double[] DX, double[] Scale) ConvBackwardInput(double[] dy, double[] w, ConvShape s)
    {
        var (oh, ow, k) = (s.OutHeight, s.OutWidth, s.KernelSize);
        var dx = new double[s.Batch * s.InChannels * s.Height * s.Width];
        var scale = new double[dx.Length];
        for (var n = 0; n < s.Batch; n++)
        for (var co = 0; co < s.OutChannels; co++)
        for (var oy = 0; oy < oh; oy++)
        for (var ox = 0; ox < ow; ox++)
        for (var ci = 0; ci < s.InChannels; ci++)
        for (var ky = 0; ky < k; ky++)
        for (var kx = 0; kx < k; kx++)
        {
            var (iy, ix) = (oy + ky - s.Padding, ox + kx - s.Padding);
            if (iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width)
                continue;
            var t = dy[((n * s.OutChannels + co) * oh + oy) * ow + ox] * w[W(s, co, ci, ky, kx)];
            dx[X(s, n, ci, iy, ix)] += t;
            scale[X(s, n, ci, iy, ix)] += Math.Abs(t);
        }
        return (dx, scale);
    }

    public static (double[] Y, int[] Argmax) PoolForward(double[] x, PoolShape s)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        var y = new double[s.Batch * s.Channels * oh * ow];
        var arg = new int[y.Length];
        for (var p = 0; p < s.Batch * s.Channels; p++)
        for (var py = 0; py < oh; py++)
        for (var px = 0; px < ow; px++)
        {
            var best = double.NegativeInfinity;
            var which = -1;
            for (var d = 0; d < 4; d++)
            {
                var v = x[(p * s.Height + 2 * py + d / 2) * s.Width + 2 * px + d % 2];
                if (v > best) { best = v; which = d; }
            }
            y[(p * oh + py) * ow + px] = best;
            arg[(p * oh + py) * ow + px] = which;
        }
        return (y, arg);
    }

    public static double[] PoolBackward(double[] dy, int[] argmax, PoolShape s)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        var dx = new double[s.Batch * s.Channels * s.Height * s.Width];
        for (var p = 0; p < s.Batch * s.Channels; p++)
        for (var py = 0; py < oh; py++)
        for (var px = 0; px < ow; px++)
        {
            var o = (p * oh + py) * ow + px;
            var d = argmax[o];
            dx[(p * s.Height + 2 * py + d / 2) * s.Width + 2 * px + d % 2] = dy[o];
        }
        return dx;
    }

    /// <summary>C[M,N] = A[M,K]·B[K,N] for row-major A and B, plus an optional bias per column and ReLU.</summary>
    public static (double[] C, double[] Scale) MatMul(double[] a, double[] b, int m, int n, int k, double[]? columnBias = null, bool relu = false)
    {
        var c = new double[m * n];
        var scale = new double[m * n];
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
        {
            double acc = columnBias?[j] ?? 0, mag = Math.Abs(columnBias?[j] ?? 0);
            for (var p = 0; p < k; p++)
            {
                var t = a[i * k + p] * b[p * n + j];
                acc += t;
                mag += Math.Abs(t);
            }
            c[i * n + j] = relu ? Math.Max(acc, 0) : acc;
            scale[i * n + j] = mag;
        }
        return (c, scale);
    }

    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (var i = 0; i < rows; i++)
        for (var j = 0; j < cols; j++)
            t[j * rows + i] = a[i * cols + j];
        return t;
    }

    /// <summary>Per-sample loss, the batch-mean gradient, and whether the first maximum is the label.</summary>
    public static (double[] Loss, double[] DLogits, int[] Correct) SoftmaxCrossEntropy(double[] z, int[] labels, int classes)
    {
        var batch = labels.Length;
        var loss = new double[batch];
        var dz = new double[z.Length];
        var correct = new int[batch];
        for (var n = 0; n < batch; n++)
        {
            var row = z.AsSpan(n * classes, classes);
            var max = double.NegativeInfinity;
            var best = -1;
            for (var c = 0; c < classes; c++)
                if (row[c] > max) { max = row[c]; best = c; }
            var sum = 0.0;
            for (var c = 0; c < classes; c++)
                sum += Math.Exp(row[c] - max);
            var lse = max + Math.Log(sum);
            loss[n] = lse - row[labels[n]];
            for (var c = 0; c < classes; c++)
                dz[n * classes + c] = (Math.Exp(row[c] - lse) - (c == labels[n] ? 1 : 0)) / batch;
            correct[n] = best == labels[n] ? 1 : 0;
        }
        return (loss, dz, correct);
    }

    /// <summary>Input element (n, c, y - pad, x - pad) of a padded convolution: zero in the padding.</summary>
    private static double In(double[] x, ConvShape s, int n, int c, int y, int x0)
    {
        var (iy, ix) = (y - s.Padding, x0 - s.Padding);
        return iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width ? 0 : x[X(s, n, c, iy, ix)];
    }

    /// <summary>
    /// Batchnorm in training mode on x [Batch, C, Spatial]: y = (x - mean)/sqrt(var + eps)·w + b with the batch's
    /// biased variance, and the batch mean and unbiased variance for the running statistics.
    /// </summary>
    public static (double[] Y, double[] Mean, double[] UnbiasedVar) BatchNormTraining(double[] x, double[] w, double[] b, int batch, int channels, int spatial)
    {
        var (y, mean, unbiased) = (new double[x.Length], new double[channels], new double[channels]);
        var m = batch * spatial;
        for (var c = 0; c < channels; c++)
        {
            var values = Enumerable.Range(0, batch).SelectMany(n => Enumerable.Range(0, spatial).Select(i => (n * channels + c) * spatial + i)).ToArray();
            var mu = values.Average(i => x[i]);
            var variance = values.Sum(i => (x[i] - mu) * (x[i] - mu)) / m;
            foreach (var i in values)
                y[i] = (x[i] - mu) / Math.Sqrt(variance + 1e-5) * w[c] + b[c];
            mean[c] = mu;
            unbiased[c] = m > 1 ? variance * m / (m - 1) : variance;
        }
        return (y, mean, unbiased);
    }

    /// <summary>Global average pooling: x [Planes, Spatial] → y [Planes].</summary>
    public static double[] GlobalAvgPool(double[] x, int planes, int spatial) =>
        Enumerable.Range(0, planes).Select(p => x.Skip(p * spatial).Take(spatial).Average()).ToArray();

    private static int X(ConvShape s, int n, int c, int y, int x) => ((n * s.InChannels + c) * s.Height + y) * s.Width + x;
    private static int W(ConvShape s, int co, int ci, int ky, int kx) => ((co * s.InChannels + ci) * s.KernelSize + ky) * s.KernelSize + kx;
}
