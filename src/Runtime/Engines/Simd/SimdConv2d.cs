using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="Conv2DKernels"/> on the host as an implicit GEMM per image on <see cref="SimdGemm"/>'s register tiles.
/// An image is zero-padded into planes of width Wp = W + 2·pad; the output is computed on a "wide" grid of OH rows of
/// Wp columns (the last 2·pad columns of each row are dropped), so the input row of every tap (ci, ky, kx) is one
/// contiguous slice of its padded plane starting at ky·Wp + kx: the products read those slices in place as the rows of
/// the unrolled input (nothing is copied), and the wide grid, rounded up to 16 columns, tiles exactly. Per image:
/// y = W·columns, dW = dy·columnsᵀ and dcolumns = Wᵀ·dy, folded back by adding each tap's slice into the padded
/// gradient. Images run in parallel, each on one core, with scratch that stays in cache; per-image weight gradients
/// are added in image order, so the bits do not depend on the core count.
/// </summary>
public static class SimdConv2d
{
    /// <summary>The geometry of one image's implicit GEMM.</summary>
    private readonly record struct Grid(ConvShape S)
    {
        public int PaddedWidth => S.Width + 2 * S.Padding;
        public int PaddedHeight => S.Height + 2 * S.Padding;
        /// <summary>Columns of the GEMM: OH rows of Wp, rounded up to whole 16-column tiles.</summary>
        public int Columns => (S.OutHeight * PaddedWidth + 15) / 16 * 16;
        /// <summary>A padded plane, long enough for the last tap's slice.</summary>
        public int Plane => (S.KernelSize - 1) * (PaddedWidth + 1) + Columns;
        public int Padded => S.InChannels * Plane;
        public int Unrolled => S.Taps * Columns;
        public int Pixels => S.InChannels * S.Height * S.Width;
        public int Positions => S.OutHeight * S.OutWidth;
        public int Outputs => S.OutChannels * Positions;

        /// <summary>Where tap t's input slice starts in the padded image.</summary>
        public int TapStart(int tap)
        {
            var k = S.KernelSize;
            return tap / (k * k) * Plane + tap / k % k * PaddedWidth + tap % k;
        }

        /// <summary>Where every tap's input slice starts: the rows of the unrolled input, read in place.</summary>
        public int[] TapStarts() => Enumerable.Range(0, S.Taps).Select(TapStart).ToArray();
    }

    /// <summary>Floats of one image's weight and bias gradient partial.</summary>
    public static int PartialLength(ConvShape s) => s.OutChannels * (s.Taps + 1);

    private static void Pad(ReadOnlySpan<float> image, Span<float> padded, Grid g)
    {
        var s = g.S;
        padded[..g.Padded].Clear();
        for (var ci = 0; ci < s.InChannels; ci++)
            for (var iy = 0; iy < s.Height; iy++)
                image.Slice((ci * s.Height + iy) * s.Width, s.Width)
                    .CopyTo(padded[(ci * g.Plane + (iy + s.Padding) * g.PaddedWidth + s.Padding)..]);
    }

    /// <summary>
    /// The unrolled input read in place: row t of the GEMM operand [Taps, Columns] is the padded image from tap t's
    /// start, so no copy is made.
    /// </summary>
    private static Matrix Columns(float[] padded, int[] tapStarts) => Matrix.Rows(padded, tapStarts);

    /// <summary>dx = Σ over taps of dcolumns[t, ·] added at the tap's start (in tap order), then cropped.</summary>
    private static void Fold(ReadOnlySpan<float> dColumns, Span<float> dPadded, Span<float> dx, Grid g)
    {
        var s = g.S;
        dPadded[..g.Padded].Clear();
        for (var t = 0; t < s.Taps; t++)
            Add(dColumns.Slice(t * g.Columns, g.Columns), dPadded.Slice(g.TapStart(t), g.Columns));
        for (var ci = 0; ci < s.InChannels; ci++)
            for (var iy = 0; iy < s.Height; iy++)
                dPadded.Slice(ci * g.Plane + (iy + s.Padding) * g.PaddedWidth + s.Padding, s.Width)
                    .CopyTo(dx.Slice((ci * s.Height + iy) * s.Width, s.Width));
    }

    /// <summary>Σ values, in a fixed order: four 8-lane accumulators over whole 32-float blocks, then the lanes, then the tail.</summary>
    private static float Sum(ReadOnlySpan<float> values)
    {
        var (a, b, c, d) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
        var i = 0;
        for (; i + 32 <= values.Length; i += 32)
        {
            a += Vector256.Create(values[i..]);
            b += Vector256.Create(values[(i + 8)..]);
            c += Vector256.Create(values[(i + 16)..]);
            d += Vector256.Create(values[(i + 24)..]);
        }
        var sum = Vector256.Sum((a + b) + (c + d));
        for (; i < values.Length; i++)
            sum += values[i];
        return sum;
    }

    private static void AddBias(ReadOnlySpan<float> source, float bias, Span<float> target)
    {
        var ox = 0;
        for (var vector = new Vector<float>(bias); ox + Vector<float>.Count <= target.Length; ox += Vector<float>.Count)
            (new Vector<float>(source[ox..]) + vector).CopyTo(target[ox..]);
        for (; ox < target.Length; ox++)
            target[ox] = source[ox] + bias;
    }

    private static void Add(ReadOnlySpan<float> source, Span<float> target)
    {
        var i = 0;
        for (; i + Vector<float>.Count <= source.Length; i += Vector<float>.Count)
            (new Vector<float>(source[i..]) + new Vector<float>(target[i..])).CopyTo(target[i..]);
        for (; i < source.Length; i++)
            target[i] += source[i];
    }

    /// <summary>
    /// y [Batch, Out, OH, OW] = conv(x) + b, image by image in parallel; W is packed once for all of them. With
    /// <paramref name="argmax"/>, y is the 2x2 max-pool of that [Batch, Out, OH/2, OW/2], pooled while the image's
    /// output is still in cache.
    /// </summary>
    public static void Forward(float[] x, float[] weights, int weightOffset, ReadOnlyMemory<float> bias, float[] y, int[]? argmax,
        ConvShape s, ParallelOptions options)
    {
        var g = new Grid(s);
        using var w = PackedRows.Of(Matrix.RowMajor(weights, s.Taps, weightOffset), s.OutChannels, s.Taps);
        var (tapStarts, product) = (g.TapStarts(), g.Padded);
        var pool = new PoolShape(1, s.OutChannels, s.OutHeight, s.OutWidth);
        var pooled = s.OutChannels * pool.OutHeight * pool.OutWidth;
        Parallel.For(0, s.Batch, options, () => ArrayPool<float>.Shared.Rent(product + s.OutChannels * g.Columns), (n, _, scratch) =>
        {
            Pad(x.AsSpan(n * g.Pixels, g.Pixels), scratch, g);
            SimdGemm.MultiplyNN(w, Columns(scratch, tapStarts), scratch, product, g.Columns, 1);
            var b = bias.Span;
            for (var co = 0; co < s.OutChannels; co++)
            {
                var wide = scratch.AsSpan(product + co * g.Columns, g.Columns);
                if (argmax is null)
                {
                    for (var oy = 0; oy < s.OutHeight; oy++)
                        AddBias(wide.Slice(oy * g.PaddedWidth, s.OutWidth), b[co], y.AsSpan(n * g.Outputs + (co * s.OutHeight + oy) * s.OutWidth, s.OutWidth));
                    continue;
                }
                // In place over the whole wide plane at once: the columns past each row's end are dropped anyway.
                AddBias(wide, b[co], wide);
                for (var py = 0; py < pool.OutHeight; py++)
                {
                    var o = n * pooled + (co * pool.OutHeight + py) * pool.OutWidth;
                    SimdMaxPool.PoolRow(wide.Slice(2 * py * g.PaddedWidth, s.OutWidth), wide.Slice((2 * py + 1) * g.PaddedWidth, s.OutWidth),
                        y.AsSpan(o, pool.OutWidth), argmax.AsSpan(o, pool.OutWidth));
                }
            }
            return scratch;
        }, scratch => ArrayPool<float>.Shared.Return(scratch));
    }

    /// <summary>
    /// dW and db into <paramref name="dWeight"/> and <paramref name="dBias"/> from per-image partials (in
    /// <paramref name="partials"/>, s.Batch · <see cref="PartialLength"/> floats: dW [Out, Taps], then db) added in
    /// image order, and dx when <paramref name="dx"/> is not null. With <paramref name="argmax"/>, dy is the gradient
    /// of the pooled output (see <see cref="Forward"/>), sent back through the pool on the fly.
    /// </summary>
    public static void Backward(float[] x, float[] dy, int[]? argmax, float[] weights, int weightOffset, float[] partials, Span<float> dWeight,
        Span<float> dBias, float[]? dx, ConvShape s, ParallelOptions options)
    {
        var g = new Grid(s);
        var pool = new PoolShape(1, s.OutChannels, s.OutHeight, s.OutWidth);
        var pooledPlane = pool.OutHeight * pool.OutWidth;
        var (taps, filters, length) = (s.Taps, s.OutChannels, PartialLength(s));
        using var wT = dx is null ? null : PackedRows.Of(Matrix.Transposed(weights, taps, weightOffset), taps, filters);
        // Per worker: the padded input (later its gradient), dcolumns and dy on the wide grid [Out, Columns] (zero outside
        // the output): small enough to stay in a core's L2.
        var (tapStarts, dColumns, wide) = (g.TapStarts(), g.Padded, g.Padded + g.Unrolled);
        Parallel.For(0, s.Batch, options, () => ArrayPool<float>.Shared.Rent(wide + filters * g.Columns), (n, _, scratch) =>
        {
            Pad(x.AsSpan(n * g.Pixels, g.Pixels), scratch, g);
            scratch.AsSpan(wide, filters * g.Columns).Clear();
            for (var co = 0; co < filters; co++)
            {
                if (argmax is null)
                    for (var oy = 0; oy < s.OutHeight; oy++)
                        dy.AsSpan(n * g.Outputs + (co * s.OutHeight + oy) * s.OutWidth, s.OutWidth).CopyTo(scratch.AsSpan(wide + co * g.Columns + oy * g.PaddedWidth));
                else
                {
                    var plane = (n * filters + co) * pooledPlane;
                    SimdMaxPool.Scatter(dy.AsSpan(plane, pooledPlane), argmax.AsSpan(plane, pooledPlane), scratch.AsSpan(wide + co * g.Columns, g.Columns),
                        pool.OutWidth, g.PaddedWidth);
                }
                // db: the wide row holds dy and zeros, so its sum is dy's.
                partials[n * length + filters * taps + co] = Sum(scratch.AsSpan(wide + co * g.Columns, g.Columns));
            }
            // dW[co, t] = Σ_q dy[co, q]·columns[t, q]: both operands run along q, so no transposing or packing.
            SimdGemm.MultiplyNT(scratch, wide, Columns(scratch, tapStarts), partials, n * length, filters, taps, g.Columns, 1);
            if (wT is not null)
            {
                SimdGemm.MultiplyNN(wT, Matrix.RowMajor(scratch, g.Columns, wide), scratch, dColumns, g.Columns, 1);
                Fold(scratch.AsSpan(dColumns, g.Unrolled), scratch, dx.AsSpan(n * g.Pixels, g.Pixels), g);
            }
            return scratch;
        }, scratch => ArrayPool<float>.Shared.Return(scratch));
        // Image 0's partial becomes the sum: element by element, images in order, chunks of elements in parallel.
        const int chunk = 1024;
        Parallel.For(0, (length + chunk - 1) / chunk, options, c =>
        {
            var (begin, end) = (c * chunk, Math.Min(length, (c + 1) * chunk));
            var sum = partials.AsSpan(begin, end - begin);
            for (var n = 1; n < s.Batch; n++)
                Add(partials.AsSpan(n * length + begin, end - begin), sum);
        });
        partials.AsSpan(0, filters * taps).CopyTo(dWeight);
        partials.AsSpan(filters * taps, filters).CopyTo(dBias);
    }
}
