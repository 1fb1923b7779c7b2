using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// A single-channel 3x3 convolution followed by a 2x2 max-pool, computed straight at the pooled outputs, eight
/// neighbouring pooled columns a vector: the image is split into its even and odd columns so that each of the 16
/// inputs of a strip's window row is one contiguous load, and the four conv outputs of every window are formed in
/// registers and pooled there. A GEMM would spend more on its ten-deep sums' loads and stores than on their FMAs.
/// </summary>
internal static class PooledConvStrips
{
    public const int Lanes = 8;
    private const int MaxSplitPixels = 4096;

    /// <summary>Whether <paramref name="s"/> (padding included) runs here: one input channel, 3x3, at least 8 pooled columns.</summary>
    public static bool Fit(ConvShape s) =>
        Vector256.IsHardwareAccelerated && s.InChannels == 1 && s.KernelSize == 3
        && ConvBlockKernels.PooledWidth(s) >= Lanes && (s.Height + 2 * s.Padding) * (s.Width + 2 * s.Padding) <= MaxSplitPixels;

    /// <summary>Pooled columns 0, 8, 16, … and, when the width is not a multiple of 8, a last strip ending at the edge.</summary>
    public static int StripCount(int pooledWidth) => (pooledWidth + Lanes - 1) / Lanes;

    public static int StripStart(int strip, int pooledWidth) => Math.Min(strip * Lanes, pooledWidth - Lanes);

    /// <summary>How a cell's sum starts and ends: the bias and the taps in an order, and what follows before the pool.</summary>
    public interface ICellSums
    {
        static abstract Vector256<float> Start(Vector256<float> bias);

        static abstract Vector256<float> Finish(Vector256<float> cell, Vector256<float> bias);
    }

    /// <summary>The conv block's order: the bias first, then the taps, then ReLU.</summary>
    public readonly struct BiasTapsRelu : ICellSums
    {
        public static Vector256<float> Start(Vector256<float> bias) => bias;

        public static Vector256<float> Finish(Vector256<float> cell, Vector256<float> bias) => SimdRelu.Of(cell);
    }

    /// <summary>The convolution's GEMM order: the taps from zero, then the bias.</summary>
    public readonly struct TapsThenBias : ICellSums
    {
        public static Vector256<float> Start(Vector256<float> bias) => Vector256<float>.Zero;

        public static Vector256<float> Finish(Vector256<float> cell, Vector256<float> bias) => cell + bias;
    }

    /// <summary>
    /// One image's pooled outputs [Out, PooledHeight, PooledWidth] and the argmax (0..3) of each window, with
    /// <typeparamref name="TSums"/> deciding the order of each cell's sum.
    /// </summary>
    public static void Forward<TSums>(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, Span<int> argmax, ConvShape s) where TSums : struct, ICellSums
    {
        var (ph, pw) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s));
        var image = new SplitImage(x, s, stackalloc float[SplitImage.Length(s)]);
        ref var wr = ref MemoryMarshal.GetReference(weight);
        ref var yr = ref MemoryMarshal.GetReference(y);
        ref var ar = ref MemoryMarshal.GetReference(argmax);
        for (var py = 0; py < ph; py++)
        {
            for (var strip = 0; strip < StripCount(pw); strip++)
            {
                var p0 = StripStart(strip, pw);
                var r = image.Load(py, p0);
                for (var co = 0; co < s.OutChannels; co++)
                {
                    var b = Vector256.Create(bias[co]);
                    var (c0, c1, c2, c3) = Cells(r, new Filter(ref Unsafe.Add(ref wr, co * 9)), TSums.Start(b));
                    var (max, which) = Pool(TSums.Finish(c0, b), TSums.Finish(c1, b), TSums.Finish(c2, b), TSums.Finish(c3, b));
                    var at = (nuint)((co * ph + py) * pw + p0);
                    max.StoreUnsafe(ref yr, at);
                    which.StoreUnsafe(ref ar, at);
                }
            }
        }
    }

    /// <summary>
    /// One image, zero-padded by the convolution's padding, as its even columns, then its odd columns, row by row with
    /// one stride, in a caller's (stack) buffer: the inputs 2(p0 + lane) + c of a padded row are then contiguous for
    /// each c.
    /// </summary>
    public readonly ref struct SplitImage
    {
        private readonly ref float _even;
        private readonly ref float _odd;
        private readonly int _stride;

        public static int Length(ConvShape s) => 2 * (s.Height + 2 * s.Padding) * ((s.Width + 2 * s.Padding + 1) / 2);

        public SplitImage(ReadOnlySpan<float> x, ConvShape s, Span<float> buffer)
        {
            var p = s.Padding;
            _stride = (s.Width + 2 * p + 1) / 2;
            var odd = (s.Height + 2 * p) * _stride;
            buffer = buffer[..Length(s)];
            if (p > 0)
                buffer.Clear();
            // Input column c lands in padded column c + p: in the odd half where that is odd.
            var (evenColumns, oddColumns) = ((p & 1) * odd + p / 2, ((p + 1) & 1) * odd + (p + 1) / 2);
            var vectors = s.Width % 2 == 0 && s.Width >= 2 * Lanes;
            for (var r = 0; r < s.Height; r++)
            {
                var row = x.Slice(r * s.Width, s.Width);
                var target = (r + p) * _stride;
                if (vectors)
                    // Sixteen columns at a time; where the width is not a multiple of 16 the last ones overlap the
                    // columns before them and write the same values again.
                    for (var at = 0; at < s.Width; at += 2 * Lanes)
                    {
                        var from = Math.Min(at, s.Width - 2 * Lanes);
                        var (even, odds) = SimdMaxPool.Deinterleave(Vector256.Create(row.Slice(from, Lanes)), Vector256.Create(row.Slice(from + Lanes, Lanes)));
                        even.CopyTo(buffer.Slice(evenColumns + target + from / 2, Lanes));
                        odds.CopyTo(buffer.Slice(oddColumns + target + from / 2, Lanes));
                    }
                else
                    for (var c = 0; c < s.Width; c++)
                        buffer[((c + p) & 1) * odd + target + ((c + p) >> 1)] = row[c];
            }
            _even = ref MemoryMarshal.GetReference(buffer);
            _odd = ref Unsafe.Add(ref _even, odd);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Window Load(int py, int p0) => Window.Load(ref _even, ref _odd, _stride, py, p0);
    }

    /// <summary>
    /// The 16 inputs of pooled columns p0..p0+7 of pooled row py: padded input row 2py + k (k = 0..3) shifted by
    /// c = 0..3 columns, i.e. x[2py + k, 2(p0 + lane) + c].
    /// </summary>
    [StructLayout(LayoutKind.Auto)]
    public struct Window
    {
        public Vector256<float> R00, R01, R02, R03, R10, R11, R12, R13, R20, R21, R22, R23, R30, R31, R32, R33;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Window Load(ref float even, ref float odd, int stride, int py, int p0)
        {
            var w = default(Window);
            var at = (nuint)(2 * py * stride + p0);
            var next = (nuint)stride;
            w.R00 = Vector256.LoadUnsafe(ref even, at); w.R01 = Vector256.LoadUnsafe(ref odd, at);
            w.R02 = Vector256.LoadUnsafe(ref even, at + 1); w.R03 = Vector256.LoadUnsafe(ref odd, at + 1);
            at += next;
            w.R10 = Vector256.LoadUnsafe(ref even, at); w.R11 = Vector256.LoadUnsafe(ref odd, at);
            w.R12 = Vector256.LoadUnsafe(ref even, at + 1); w.R13 = Vector256.LoadUnsafe(ref odd, at + 1);
            at += next;
            w.R20 = Vector256.LoadUnsafe(ref even, at); w.R21 = Vector256.LoadUnsafe(ref odd, at);
            w.R22 = Vector256.LoadUnsafe(ref even, at + 1); w.R23 = Vector256.LoadUnsafe(ref odd, at + 1);
            at += next;
            w.R30 = Vector256.LoadUnsafe(ref even, at); w.R31 = Vector256.LoadUnsafe(ref odd, at);
            w.R32 = Vector256.LoadUnsafe(ref even, at + 1); w.R33 = Vector256.LoadUnsafe(ref odd, at + 1);
            return w;
        }
    }

    /// <summary>A filter's nine taps, broadcast.</summary>
    [StructLayout(LayoutKind.Auto)]
    public readonly struct Filter
    {
        public readonly Vector256<float> W0, W1, W2, W3, W4, W5, W6, W7, W8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Filter(ref float taps)
        {
            (W0, W1, W2) = (Vector256.Create(taps), Vector256.Create(Unsafe.Add(ref taps, 1)), Vector256.Create(Unsafe.Add(ref taps, 2)));
            (W3, W4, W5) = (Vector256.Create(Unsafe.Add(ref taps, 3)), Vector256.Create(Unsafe.Add(ref taps, 4)), Vector256.Create(Unsafe.Add(ref taps, 5)));
            (W6, W7, W8) = (Vector256.Create(Unsafe.Add(ref taps, 6)), Vector256.Create(Unsafe.Add(ref taps, 7)), Vector256.Create(Unsafe.Add(ref taps, 8)));
        }
    }

    /// <summary>
    /// The conv outputs of the four cells of each window (top left, top right, bottom left, bottom right): window cell
    /// (dy, dx) reads input row dy + ky shifted by dx + kx; <paramref name="start"/> first, then the taps in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> C0, Vector256<float> C1, Vector256<float> C2, Vector256<float> C3) Cells(in Window r, in Filter f, Vector256<float> start) => (
        Taps(start, r.R00, r.R01, r.R02, r.R10, r.R11, r.R12, r.R20, r.R21, r.R22, f),
        Taps(start, r.R01, r.R02, r.R03, r.R11, r.R12, r.R13, r.R21, r.R22, r.R23, f),
        Taps(start, r.R10, r.R11, r.R12, r.R20, r.R21, r.R22, r.R30, r.R31, r.R32, f),
        Taps(start, r.R11, r.R12, r.R13, r.R21, r.R22, r.R23, r.R31, r.R32, r.R33, f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Taps(Vector256<float> start,
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4,
        Vector256<float> x5, Vector256<float> x6, Vector256<float> x7, Vector256<float> x8, in Filter f)
    {
        var c = Vector256.FusedMultiplyAdd(x0, f.W0, start);
        c = Vector256.FusedMultiplyAdd(x1, f.W1, c);
        c = Vector256.FusedMultiplyAdd(x2, f.W2, c);
        c = Vector256.FusedMultiplyAdd(x3, f.W3, c);
        c = Vector256.FusedMultiplyAdd(x4, f.W4, c);
        c = Vector256.FusedMultiplyAdd(x5, f.W5, c);
        c = Vector256.FusedMultiplyAdd(x6, f.W6, c);
        c = Vector256.FusedMultiplyAdd(x7, f.W7, c);
        return Vector256.FusedMultiplyAdd(x8, f.W8, c);
    }

    /// <summary>The first maximum of the four cells (NaN rule of <see cref="NanRule.Beats"/>) and which it was, 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Max, Vector256<int> Which) Pool(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3)
    {
        var (max, which) = (c0, Vector256<int>.Zero);
        SimdMaxPool.Take(c1, 1, ref max, ref which);
        SimdMaxPool.Take(c2, 2, ref max, ref which);
        SimdMaxPool.Take(c3, 3, ref max, ref which);
        return (max, which);
    }
}
