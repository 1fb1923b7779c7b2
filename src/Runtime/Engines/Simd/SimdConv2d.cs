using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="Conv2DKernels"/> on the host as GEMMs on <see cref="SimdGemm"/>: the batch's input patches are unrolled
/// into columns [Batch·P, Taps] (P = output positions; padding reads zeros), then y = columns·Wᵀ, dW = dyᵀ·columns and
/// dcolumns = dy·W folded back onto the input. Every sum runs in a fixed order whatever the core count.
/// </summary>
public static class SimdConv2d
{
    private static int Positions(ConvShape s) => s.OutHeight * s.OutWidth;

    /// <summary>Floats of the unrolled input of a batch.</summary>
    public static int ColumnLength(ConvShape s) => s.Batch * Positions(s) * s.Taps;

    /// <summary>Floats of a batch's output in position-major order [Batch·P, Out].</summary>
    public static int TransposedLength(ConvShape s) => s.Batch * Positions(s) * s.OutChannels;

    /// <summary>columns[n·P + p, (ci·K + ky)·K + kx] = x[n, ci, oy + ky - pad, ox + kx - pad], 0 in the padding.</summary>
    public static void Unroll(float[] x, float[] columns, ConvShape s, ParallelOptions options)
    {
        var (positions, k, taps) = (Positions(s), s.KernelSize, s.Taps);
        Parallel.For(0, s.Batch, options, n =>
        {
            var image = x.AsSpan(n * s.InChannels * s.Height * s.Width, s.InChannels * s.Height * s.Width);
            for (var oy = 0; oy < s.OutHeight; oy++)
            for (var ox = 0; ox < s.OutWidth; ox++)
            {
                var row = columns.AsSpan((n * positions + oy * s.OutWidth + ox) * taps, taps);
                for (var ci = 0; ci < s.InChannels; ci++)
                for (var ky = 0; ky < k; ky++)
                {
                    var iy = oy + ky - s.Padding;
                    var target = row.Slice((ci * k + ky) * k, k);
                    if (iy < 0 || iy >= s.Height)
                    {
                        target.Clear();
                        continue;
                    }
                    var source = image.Slice((ci * s.Height + iy) * s.Width, s.Width);
                    for (var kx = 0; kx < k; kx++)
                    {
                        var ix = ox + kx - s.Padding;
                        target[kx] = ix >= 0 && ix < s.Width ? source[ix] : 0f;
                    }
                }
            }
        });
    }

    /// <summary>
    /// y [Batch, Out, OH, OW] = conv(x) + b, from <paramref name="columns"/> that <see cref="Unroll"/> just filled;
    /// <paramref name="transposed"/> (<see cref="TransposedLength"/> floats) is scratch.
    /// </summary>
    public static void Forward(float[] x, float[] columns, float[] weights, int weightOffset, ReadOnlySpan<float> bias, float[] transposed,
        float[] y, ConvShape s, ParallelOptions options)
    {
        Unroll(x, columns, s, options);
        var positions = Positions(s);
        SimdGemm.MultiplyNT(columns, 0, weights, weightOffset, transposed, 0, s.Batch * positions, s.OutChannels, s.Taps,
            options.MaxDegreeOfParallelism);
        var b = bias.ToArray();
        Parallel.For(0, s.Batch, options, n =>
        {
            for (var co = 0; co < s.OutChannels; co++)
            {
                var target = y.AsSpan((n * s.OutChannels + co) * positions, positions);
                var bc = b[co];
                for (var p = 0; p < positions; p++)
                    target[p] = transposed[(n * positions + p) * s.OutChannels + co] + bc;
            }
        });
    }

    /// <summary>
    /// dW = Σ dy·columns and db = Σ dy (into <paramref name="gradients"/> at <paramref name="weightOffset"/> and
    /// <paramref name="dBias"/>), and dx when <paramref name="dx"/> is not null. <paramref name="columns"/> still holds
    /// the forward's unrolled input; <paramref name="transposed"/> and <paramref name="dColumns"/> are scratch.
    /// </summary>
    public static void Backward(float[] dy, float[] columns, float[] weights, int weightOffset, float[] gradients, Span<float> dBias,
        float[] transposed, float[] dColumns, float[]? dx, ConvShape s, ParallelOptions options)
    {
        var (positions, rows, parallelism) = (Positions(s), s.Batch * Positions(s), options.MaxDegreeOfParallelism);
        Parallel.For(0, s.Batch, options, n =>
        {
            for (var co = 0; co < s.OutChannels; co++)
            {
                var source = dy.AsSpan((n * s.OutChannels + co) * positions, positions);
                for (var p = 0; p < positions; p++)
                    transposed[(n * positions + p) * s.OutChannels + co] = source[p];
            }
        });
        SimdGemm.MultiplyNN(Matrix.Transposed(transposed, s.OutChannels), Matrix.RowMajor(columns, s.Taps), gradients, weightOffset,
            s.OutChannels, s.Taps, rows, parallelism);
        for (var co = 0; co < s.OutChannels; co++)
        {
            var sum = 0f;
            for (var r = 0; r < rows; r++)
                sum += transposed[r * s.OutChannels + co];
            dBias[co] = sum;
        }
        if (dx is null)
            return;
        SimdGemm.MultiplyNN(Matrix.RowMajor(transposed, s.OutChannels), Matrix.RowMajor(weights, s.Taps, weightOffset), dColumns, 0,
            rows, s.Taps, s.OutChannels, parallelism);
        var k = s.KernelSize;
        var pixels = s.InChannels * s.Height * s.Width;
        Parallel.For(0, s.Batch, options, n =>
        {
            var image = dx.AsSpan(n * pixels, pixels);
            image.Clear();
            for (var oy = 0; oy < s.OutHeight; oy++)
            for (var ox = 0; ox < s.OutWidth; ox++)
            {
                var row = dColumns.AsSpan((n * positions + oy * s.OutWidth + ox) * s.Taps, s.Taps);
                for (var ci = 0; ci < s.InChannels; ci++)
                for (var ky = 0; ky < k; ky++)
                {
                    var iy = oy + ky - s.Padding;
                    if (iy < 0 || iy >= s.Height)
                        continue;
                    var target = image.Slice((ci * s.Height + iy) * s.Width, s.Width);
                    for (var kx = 0; kx < k; kx++)
                    {
                        var ix = ox + kx - s.Padding;
                        if (ix >= 0 && ix < s.Width)
                            target[ix] += row[(ci * k + ky) * k + kx];
                    }
                }
            }
        });
    }
}
