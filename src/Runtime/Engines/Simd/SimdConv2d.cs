using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="Conv2DKernels"/> on the host as an implicit GEMM per image on <see cref="SimdGemm"/>'s register tiles.
/// An image is zero-padded into planes of a width Wp of at least W + 2·pad; the output is computed on a "wide" grid of
/// OH rows of Wp columns (the columns past OW are dropped), so the input row of every tap (ci, ky, kx) is one
/// contiguous slice of its padded plane starting at ky·Wp + kx: the products read those slices in place as the rows of
/// the unrolled input (nothing is copied), and the wide grid, rounded up to 16 columns, tiles exactly. Per image:
/// y = W·columns and dW = dy·columnsᵀ; dx is the transposed convolution, dy padded by K - 1 - pad convolved with the
/// flipped weights, on the same kind of grid, so dy on the backward's grid is read in place by both of its products.
/// Images run in parallel, each on one core, with scratch that stays in cache; per-image weight gradients are added
/// in image order, so the bits do not depend on the core count.
/// </summary>
public static class SimdConv2d
{
    /// <summary>The geometry of one image's implicit GEMM on planes <see cref="PaddedWidth"/> wide.</summary>
    private readonly record struct Grid(ConvShape S, int PaddedWidth, int MinimumPlane = 0)
    {
        /// <summary>The forward's grid: planes padded by the convolution's own padding.</summary>
        public static Grid Forward(ConvShape s) => new(s, s.Width + 2 * s.Padding);

        /// <summary>
        /// The backward's grid, W + K - 1 wide: room for the input padded by P and for dy padded by K - 1 - P (the input
        /// of the transposed convolution, <see cref="Transposed"/>), so one layout of dy serves dW and dx.
        /// </summary>
        public static Grid Backward(ConvShape s) => new(s, s.Width + s.KernelSize - 1);

        /// <summary>
        /// dx's convolution: dy [Out, OH, OW] padded by K - 1 - P into [In, H, W], on this grid's width. Its planes hold dy
        /// on this grid too (read by dW's product and db's sum), so each reaches at least this grid's columns past its origin.
        /// </summary>
        public Grid Transposed => new(new ConvShape(1, S.OutChannels, S.InChannels, S.OutHeight, S.OutWidth, S.KernelSize,
            S.KernelSize - 1 - S.Padding), PaddedWidth, (S.KernelSize - 1 - S.Padding) * (PaddedWidth + 1) + Columns);

        /// <summary>Columns of the GEMM: OH rows of Wp, rounded up to whole 16-column tiles.</summary>
        public int Columns => (S.OutHeight * PaddedWidth + 15) / 16 * 16;
        /// <summary>A padded plane, long enough for the last tap's slice.</summary>
        public int Plane => Math.Max((S.KernelSize - 1) * (PaddedWidth + 1) + Columns, MinimumPlane);
        public int Padded => S.InChannels * Plane;
        public int Pixels => S.InChannels * S.Height * S.Width;
        public int Outputs => S.OutChannels * S.OutHeight * S.OutWidth;
        /// <summary>Where an unpadded image's pixel (0, 0) lies in a padded plane.</summary>
        public int Origin => S.Padding * (PaddedWidth + 1);

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

    /// <summary>
    /// A worker's scratch with its first <paramref name="zeroed"/> floats zeroed once: the padded planes there are only
    /// ever written in the same places (<see cref="Pad"/>, a pooled gradient's windows, dy's rows), image after image.
    /// </summary>
    private static float[] Scratch(int length, int zeroed)
    {
        var scratch = ArrayPool<float>.Shared.Rent(length);
        scratch.AsSpan(0, zeroed).Clear();
        return scratch;
    }

    /// <summary>An image into the insides of its padded planes at the start of a worker's <see cref="Scratch"/>.</summary>
    private static void Pad(ReadOnlySpan<float> image, Span<float> padded, Grid g)
    {
        var (s, plane) = (g.S, g.S.Height * g.S.Width);
        for (var ci = 0; ci < s.InChannels; ci++)
            CopyRows(image.Slice(ci * plane, plane), s.Width, padded[(ci * g.Plane + g.Origin)..], g.PaddedWidth, s.Height, s.Width);
    }

    /// <summary>
    /// <paramref name="rows"/> rows of <paramref name="width"/> floats, <paramref name="sourceStride"/> apart in the source
    /// and <paramref name="targetStride"/> apart in the target: eight at a time, the last eight of a row overlapping.
    /// </summary>
    private static void CopyRows(ReadOnlySpan<float> source, int sourceStride, Span<float> target, int targetStride, int rows, int width)
    {
        if (rows <= 0)
            return;
        if ((rows - 1) * sourceStride + width > source.Length || (rows - 1) * targetStride + width > target.Length)
            throw new ArgumentException($"{rows} rows of {width} do not fit the spans");
        if (width < Vector256<float>.Count || !Vector256.IsHardwareAccelerated)
        {
            for (var r = 0; r < rows; r++)
                source.Slice(r * sourceStride, width).CopyTo(target[(r * targetStride)..]);
            return;
        }
        ref var from = ref MemoryMarshal.GetReference(source);
        ref var to = ref MemoryMarshal.GetReference(target);
        var last = (nuint)(width - Vector256<float>.Count);
        for (var r = 0; r < rows; r++)
        {
            var (i, o) = ((nuint)(r * sourceStride), (nuint)(r * targetStride));
            for (nuint c = 0; c < last; c += (nuint)Vector256<float>.Count)
                Vector256.LoadUnsafe(ref from, i + c).StoreUnsafe(ref to, o + c);
            Vector256.LoadUnsafe(ref from, i + last).StoreUnsafe(ref to, o + last);
        }
    }

    /// <summary>
    /// The unrolled input read in place: row t of the GEMM operand [Taps, Columns] is the padded image from tap t's
    /// start, so no copy is made.
    /// </summary>
    private static Matrix Columns(float[] padded, int[] tapStarts) => Matrix.Rows(padded, tapStarts);

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

    private static void Add(ReadOnlySpan<float> source, Span<float> target)
    {
        var i = 0;
        for (; i + Vector<float>.Count <= source.Length; i += Vector<float>.Count)
            (new Vector<float>(source[i..]) + new Vector<float>(target[i..])).CopyTo(target[i..]);
        for (; i < source.Length; i++)
            target[i] += source[i];
    }

    /// <summary>
    /// y [Batch, Out, OH, OW] = conv(x) + b, image by image in parallel. With <paramref name="argmax"/>, y is the 2x2
    /// max-pool of that [Batch, Out, OH/2, OW/2], pooled while the image's output is still in cache. The bias is one
    /// more column of the packed weights against a row of ones: the product's last FMA adds it, as an addition after
    /// the product would.
    /// </summary>
    public static void Forward(float[] x, float[] weights, int weightOffset, ReadOnlyMemory<float> bias, float[] y, int[]? argmax,
        ConvShape s, int parallelism)
    {
        if (argmax is not null && PooledConvStrips.Fit(s))
        {
            ForwardPooledStrips(x, weights.AsMemory(weightOffset, s.OutChannels * s.Taps), bias, y, argmax, s, parallelism);
            return;
        }
        var g = Grid.Forward(s);
        var k = s.Taps + 1;
        var weightsAndBias = ArrayPool<float>.Shared.Rent(s.OutChannels * k);
        for (var co = 0; co < s.OutChannels; co++)
        {
            weights.AsSpan(weightOffset + co * s.Taps, s.Taps).CopyTo(weightsAndBias.AsSpan(co * k));
            weightsAndBias[co * k + s.Taps] = bias.Span[co];
        }
        using var w = PackedRows.OfRented(Matrix.RowMajor(weightsAndBias, k), s.OutChannels, k);
        // Per worker: the padded image, a row of ones and the product.
        var (ones, product) = (g.Padded, g.Padded + g.Columns);
        var tapStarts = g.TapStarts().Append(ones).ToArray();
        var pool = new PoolShape(1, s.OutChannels, s.OutHeight, s.OutWidth);
        var pooled = s.OutChannels * pool.OutHeight * pool.OutWidth;
        // Wide rows of 16 (a 14-wide "same" convolution): a row pair of the product is two 512-bit vectors.
        var sixteen = g.PaddedWidth == 16 && Vector512.IsHardwareAccelerated;
        WorkerTeam.For(s.Batch, parallelism, () =>
        {
            var scratch = Scratch(product + s.OutChannels * g.Columns, g.Padded);
            scratch.AsSpan(ones, g.Columns).Fill(1f);
            return scratch;
        }, (n, scratch) =>
        {
            Pad(x.AsSpan(n * g.Pixels, g.Pixels), scratch, g);
            SimdGemm.MultiplyNN(w, Columns(scratch, tapStarts), scratch, product, g.Columns, 1);
            for (var co = 0; co < s.OutChannels; co++)
            {
                var wide = scratch.AsSpan(product + co * g.Columns, g.Columns);
                if (argmax is null)
                {
                    var plane = s.OutHeight * s.OutWidth;
                    CopyRows(wide, g.PaddedWidth, y.AsSpan(n * g.Outputs + co * plane, plane), s.OutWidth, s.OutHeight, s.OutWidth);
                    continue;
                }
                // The rest of the image's outputs and wide planes: channels go in order, so a plane's last row may run
                // on into the next channel's, which overwrites it; only the image's last row stays narrow.
                var (o, image) = (n * pooled + co * pool.OutHeight * pool.OutWidth, (n + 1) * pooled);
                if (sixteen)
                    SimdMaxPool.PoolPlaneSixteen(scratch.AsSpan(product + co * g.Columns, g.Columns), y.AsSpan(o, image - o), argmax.AsSpan(o, image - o),
                        pool.OutHeight, pool.OutWidth);
                else
                    SimdMaxPool.PoolPlane(scratch.AsSpan(product + co * g.Columns), g.PaddedWidth, y.AsSpan(o, image - o), argmax.AsSpan(o, image - o),
                        pool.OutHeight, pool.OutWidth);
            }
            return scratch;
        }, scratch => ArrayPool<float>.Shared.Return(scratch));
    }

    /// <summary>
    /// <see cref="Forward"/> with the pool, for one input channel and 3x3 filters, on <see cref="PooledConvStrips"/>: the
    /// same sums in the same order as the product's (the taps from zero, then the bias), so the same bits.
    /// </summary>
    private static void ForwardPooledStrips(float[] x, ReadOnlyMemory<float> weights, ReadOnlyMemory<float> bias, float[] y, int[] argmax,
        ConvShape s, int parallelism)
    {
        var (pixels, pooled) = (s.Height * s.Width, ConvBlockKernels.Outputs(s));
        WorkerTeam.For(s.Batch, parallelism, n => PooledConvStrips.Forward<PooledConvStrips.TapsThenBias>(x.AsSpan(n * pixels, pixels),
            weights.Span, bias.Span, y.AsSpan(n * pooled, pooled), argmax.AsSpan(n * pooled, pooled), s));
    }

    /// <summary>
    /// dW and db into <paramref name="dWeight"/> and <paramref name="dBias"/> from per-image partials (in
    /// <paramref name="partials"/>, s.Batch · <see cref="PartialLength"/> floats: dW [Out, Taps], then db) added in
    /// image order, and dx when <paramref name="dx"/> is not null. With <paramref name="argmax"/>, dy is the gradient
    /// of the pooled output (see <see cref="Forward"/>), sent back through the pool on the fly.
    /// </summary>
    public static void Backward(float[] x, float[] dy, int[]? argmax, float[] weights, int weightOffset, float[] partials, Span<float> dWeight,
        Span<float> dBias, float[]? dx, ConvShape s, int parallelism)
    {
        var g = Grid.Backward(s);
        var (taps, filters, length) = (s.Taps, s.OutChannels, PartialLength(s));
        // Through a pool, from the pooled cells alone where the shape fits: the same bits, dW in channel-last order.
        var fromCells = argmax is not null && PooledConvBackward.Fit(s);
        if (fromCells)
            BackwardPooled(x, dy, argmax!, weights.AsMemory(weightOffset, filters * taps), partials, dx, g, parallelism);
        else
            BackwardDense(x, dy, argmax, weights, weightOffset, partials, dx, g, parallelism);
        // Image 0's partial becomes the sum: element by element, images in order, chunks of elements in parallel.
        const int chunk = 1024;
        WorkerTeam.For((length + chunk - 1) / chunk, parallelism, c =>
        {
            var (begin, end) = (c * chunk, Math.Min(length, (c + 1) * chunk));
            var sum = partials.AsSpan(begin, end - begin);
            for (var n = 1; n < s.Batch; n++)
                Add(partials.AsSpan(n * length + begin, end - begin), sum);
        });
        if (fromCells)
            PooledConvBackward.ToFilterOrder(partials.AsSpan(0, filters * taps), dWeight, s);
        else
            partials.AsSpan(0, filters * taps).CopyTo(dWeight);
        partials.AsSpan(filters * taps, filters).CopyTo(dBias);
    }

    /// <summary><see cref="Backward"/>'s per-image partials and dx as products on the backward's grid, image by image in parallel.</summary>
    private static void BackwardDense(float[] x, float[] dy, int[]? argmax, float[] weights, int weightOffset, float[] partials, float[]? dx,
        Grid g, int parallelism)
    {
        var s = g.S;
        var pool = new PoolShape(1, s.OutChannels, s.OutHeight, s.OutWidth);
        var t = g.Transposed;
        var pooledPlane = pool.OutHeight * pool.OutWidth;
        var (taps, filters, length) = (s.Taps, s.OutChannels, PartialLength(s));
        using var flipped = dx is null ? null : FlippedTransposed(weights, weightOffset, s);
        // Per worker: the padded input, dy padded for the transposed convolution (which is also dy on the wide grid of
        // the input's columns, Origin further on) and dx on its wide grid: small enough to stay in a core's L2.
        var (tapStarts, dyTapStarts, dyPadded, dxWide) = (g.TapStarts(), t.TapStarts(), g.Padded, g.Padded + t.Padded);
        var dyWide = dyPadded + t.Origin;
        WorkerTeam.For(s.Batch, parallelism, () => Scratch(dxWide + s.InChannels * t.Columns, dxWide), (n, scratch) =>
        {
            Pad(x.AsSpan(n * g.Pixels, g.Pixels), scratch, g);
            for (var co = 0; co < filters; co++)
            {
                var plane = scratch.AsSpan(dyWide + co * t.Plane, g.Columns);
                if (argmax is null)
                    CopyRows(dy.AsSpan(n * g.Outputs + co * s.OutHeight * s.OutWidth, s.OutHeight * s.OutWidth), s.OutWidth, plane, g.PaddedWidth, s.OutHeight, s.OutWidth);
                else
                {
                    var pooled = (n * filters + co) * pooledPlane;
                    SimdMaxPool.Scatter(dy.AsSpan(pooled, pooledPlane), argmax.AsSpan(pooled, pooledPlane), plane, pool.OutWidth, g.PaddedWidth);
                }
                // db: the wide row holds dy and zeros, so its sum is dy's.
                partials[n * length + filters * taps + co] = Sum(plane);
            }
            // dW[co, t] = Σ_q dy[co, q]·columns[t, q]: both operands run along q, so no transposing or packing.
            SimdGemm.MultiplyNT(new Matrix(scratch, dyWide, t.Plane), Columns(scratch, tapStarts), partials, n * length, filters, taps, g.Columns, 1);
            if (flipped is null)
                return scratch;
            SimdGemm.MultiplyNN(flipped, Matrix.Rows(scratch, dyTapStarts, dyPadded), scratch, dxWide, t.Columns, 1);
            var inputPlane = s.Height * s.Width;
            for (var ci = 0; ci < s.InChannels; ci++)
                CopyRows(scratch.AsSpan(dxWide + ci * t.Columns, t.Columns), g.PaddedWidth, dx.AsSpan(n * g.Pixels + ci * inputPlane, inputPlane), s.Width, s.Height, s.Width);
            return scratch;
        }, scratch => ArrayPool<float>.Shared.Return(scratch));
    }

    /// <summary>
    /// <see cref="Backward"/>'s per-image partials and dx through the pool on <see cref="PooledConvBackward"/>, image by
    /// image in parallel; the partials' dW in channel-last order.
    /// </summary>
    private static void BackwardPooled(float[] x, float[] dy, int[] argmax, ReadOnlyMemory<float> weights, float[] partials, float[]? dx, Grid g,
        int parallelism)
    {
        var s = g.S;
        var (length, pooled) = (PartialLength(s), ConvBlockKernels.Outputs(s));
        var wide = PooledConvBackward.Wide;
        var filters = PooledConvBackward.ChannelLastFilters(weights.Span, s, wide);
        try
        {
            WorkerTeam.For(s.Batch, parallelism, () => PooledConvBackward.Buffer(s, wide), (n, buffer) =>
            {
                PooledConvBackward.Image(x.AsSpan(n * g.Pixels, g.Pixels), dy.AsSpan(n * pooled, pooled), argmax.AsSpan(n * pooled, pooled),
                    partials.AsSpan(n * length, length), dx is null ? default : dx.AsSpan(n * g.Pixels, g.Pixels), filters, buffer.Span, s,
                    g.PaddedWidth, g.Columns, wide);
                return buffer;
            }, _ => { });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(filters);
        }
    }

    /// <summary>
    /// The transposed convolution's weights [In, Out·K·K], element (ci, (co, ky, kx)) = W[co, ci, K-1-ky, K-1-kx], packed.
    /// </summary>
    private static PackedRows FlippedTransposed(float[] weights, int weightOffset, ConvShape s)
    {
        var kk = s.KernelSize * s.KernelSize;
        var columns = s.OutChannels * kk;
        var flipped = ArrayPool<float>.Shared.Rent(s.InChannels * columns);
        for (var ci = 0; ci < s.InChannels; ci++)
            for (var co = 0; co < s.OutChannels; co++)
                for (var tap = 0; tap < kk; tap++)
                    flipped[ci * columns + co * kk + tap] = weights[weightOffset + (co * s.InChannels + ci) * kk + kk - 1 - tap];
        return PackedRows.OfRented(Matrix.RowMajor(flipped, columns), s.InChannels, columns);
    }
}

/// <summary>conv2d, and the 2x2 max-pool after it when the op pools.</summary>
internal sealed class SimdConv2dLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.Conv2d;

    public override (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) =>
        (op.Pool ? batch * op.Output.Size : 0, 0, op.Trains ? train * SimdConv2d.PartialLength(op.Conv(1)) : 0);

    public override void Forward(SimdOp o) =>
        SimdConv2d.Forward(o.Input, o.Parameters, o.Offset("weight"), o.Parameter("bias"), o.Output, o.Op.Pool ? o.Argmax : null, o.Op.Conv(o.Batch), o.Parallelism);

    public override void Backward(SimdOp o) =>
        SimdConv2d.Backward(o.Input, o.Gradient, o.Op.Pool ? o.Argmax : null, o.Parameters, o.Offset("weight"), o.Scratch, o.GradientOf("weight"), o.GradientOf("bias"),
            o.InputGradient, o.Op.Conv(o.Batch), o.Parallelism);
}
