using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="MaxPoolKernels"/> on the host: 2x2 windows, stride 2, floor mode, the first maximum (or NaN) wins.</summary>
public static class SimdMaxPool
{
    public static void Forward(float[] x, float[] y, int[] argmax, PoolShape s, int parallelism)
    {
        var (oh, ow, plane, pooled) = (s.OutHeight, s.OutWidth, s.Height * s.Width, s.OutHeight * s.OutWidth);
        WorkerTeam.For(s.Batch * s.Channels, parallelism, p =>
            PoolPlane(x.AsSpan(p * plane, plane), s.Width, y.AsSpan(p * pooled, pooled), argmax.AsSpan(p * pooled, pooled), oh, ow));
    }

    /// <summary>
    /// A plane of <paramref name="oh"/> rows of <paramref name="ow"/> windows: input rows <paramref name="rowStride"/>
    /// apart, outputs contiguous. Rows go in order, each given the rest of the spans, so rows under eight windows are
    /// pooled eight at a time (<see cref="PoolRow(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{int}, int)"/>):
    /// what one writes past its end, the next overwrites, and spans that end with the plane keep the last row narrow.
    /// </summary>
    public static void PoolPlane(ReadOnlySpan<float> input, int rowStride, Span<float> y, Span<int> argmax, int oh, int ow)
    {
        for (var py = 0; py < oh; py++)
            PoolRow(input[(2 * py * rowStride)..], input[((2 * py + 1) * rowStride)..], y[(py * ow)..], argmax[(py * ow)..], ow);
    }

    /// <summary>
    /// <see cref="PoolPlane"/> for input rows exactly 16 floats apart and at most 8 windows a row, with 512-bit vectors:
    /// a row pair is two vectors, and its windows' maxima one 8-lane result, stored whole where the spans hold eight
    /// more (what lies past the row's windows the next row, or the next plane pooled in order, overwrites) and window by
    /// window where they end.
    /// </summary>
    public static void PoolPlaneSixteen(ReadOnlySpan<float> input, Span<float> y, Span<int> argmax, int oh, int ow)
    {
        if (ow > 8 || input.Length < 32 * oh || y.Length < oh * ow || argmax.Length < oh * ow)
            throw new ArgumentException("PoolPlaneSixteen: rows of 16 floats and at most 8 windows a row");
        var order = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        ref var from = ref MemoryMarshal.GetReference(input);
        ref var to = ref MemoryMarshal.GetReference(y);
        ref var which = ref MemoryMarshal.GetReference(argmax);
        for (var py = 0; py < oh; py++)
        {
            var top = Vector512.Shuffle(Vector512.LoadUnsafe(ref from, (nuint)(32 * py)), order);
            var bottom = Vector512.Shuffle(Vector512.LoadUnsafe(ref from, (nuint)(32 * py + 16)), order);
            var (best, index) = (top.GetLower(), Vector256<int>.Zero);
            Take(top.GetUpper(), 1, ref best, ref index);
            Take(bottom.GetLower(), 2, ref best, ref index);
            Take(bottom.GetUpper(), 3, ref best, ref index);
            var at = (nuint)(py * ow);
            if (at + 8 <= (nuint)y.Length && at + 8 <= (nuint)argmax.Length)
            {
                best.StoreUnsafe(ref to, at);
                index.StoreUnsafe(ref which, at);
            }
            else
                for (var px = 0; px < ow; px++)
                {
                    Unsafe.Add(ref to, at + (nuint)px) = best.GetElement(px);
                    Unsafe.Add(ref which, at + (nuint)px) = index.GetElement(px);
                }
        }
    }

    /// <summary>
    /// One row of windows: y[px] and argmax[px] from columns 2px and 2px + 1 of the rows <paramref name="top"/> and
    /// <paramref name="bottom"/>. Eight windows at a time where the row has eight or more, else four where it has four
    /// or more; a last block that would run past the used columns is moved back to end at them, recomputing a few
    /// windows with the same result.
    /// </summary>
    public static void PoolRow(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<float> y, Span<int> argmax) =>
        PoolRow(top, bottom, y, argmax, y.Length);

    /// <summary>
    /// <see cref="PoolRow(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{int})"/> for a row of
    /// <paramref name="ow"/> windows in spans that may run on: a row of fewer than eight windows is then done as eight
    /// at once when the spans hold sixteen columns and eight outputs, writing junk past <paramref name="ow"/> for the
    /// caller to overwrite (the next row of a plane pooled in order).
    /// </summary>
    public static void PoolRow(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<float> y, Span<int> argmax, int ow)
    {
        var done = 0;
        var eightFit = ow >= 8 || (y.Length >= 8 && argmax.Length >= 8 && top.Length >= 16 && bottom.Length >= 16);
        if (Vector256.IsHardwareAccelerated && eightFit)
        {
            for (var px = 0; px < ow; px += 8)
            {
                var at = Math.Max(0, Math.Min(px, ow - 8));
                var (v0, v1) = Deinterleave(Vector256.Create(top[(2 * at)..]), Vector256.Create(top[(2 * at + 8)..]));
                var (v2, v3) = Deinterleave(Vector256.Create(bottom[(2 * at)..]), Vector256.Create(bottom[(2 * at + 8)..]));
                var (best, which) = (v0, Vector256<int>.Zero);
                Take(v1, 1, ref best, ref which);
                Take(v2, 2, ref best, ref which);
                Take(v3, 3, ref best, ref which);
                best.CopyTo(y[at..]);
                which.CopyTo(argmax[at..]);
            }
            done = ow;
        }
        else if (Vector128.IsHardwareAccelerated && ow >= 4)
        {
            for (var px = 0; px < ow; px += 4)
            {
                var at = Math.Min(px, ow - 4);
                var (v0, v1) = Deinterleave(Vector128.Create(top[(2 * at)..]), Vector128.Create(top[(2 * at + 4)..]));
                var (v2, v3) = Deinterleave(Vector128.Create(bottom[(2 * at)..]), Vector128.Create(bottom[(2 * at + 4)..]));
                var (best, which) = (v0, Vector128<int>.Zero);
                Take(v1, 1, ref best, ref which);
                Take(v2, 2, ref best, ref which);
                Take(v3, 3, ref best, ref which);
                best.CopyTo(y[at..]);
                which.CopyTo(argmax[at..]);
            }
            done = ow;
        }
        for (var px = done; px < ow; px++)
        {
            var (best, which) = (top[2 * px], 0);
            if (NanRule.Beats(top[2 * px + 1], best)) (best, which) = (top[2 * px + 1], 1);
            if (NanRule.Beats(bottom[2 * px], best)) (best, which) = (bottom[2 * px], 2);
            if (NanRule.Beats(bottom[2 * px + 1], best)) (best, which) = (bottom[2 * px + 1], 3);
            y[px] = best;
            argmax[px] = which;
        }
    }

    /// <summary>The even and the odd elements of the eight in (a, b), each in order.</summary>
    private static (Vector128<float> Even, Vector128<float> Odd) Deinterleave(Vector128<float> a, Vector128<float> b)
    {
        var order = Vector128.Create(0, 2, 1, 3);
        var (pa, pb) = (Vector128.Shuffle(a, order), Vector128.Shuffle(b, order));
        return (Vector128.Create(pa.GetLower(), pb.GetLower()), Vector128.Create(pa.GetUpper(), pb.GetUpper()));
    }

    /// <summary>The even and the odd elements of the sixteen in (a, b), each in order.</summary>
    internal static (Vector256<float> Even, Vector256<float> Odd) Deinterleave(Vector256<float> a, Vector256<float> b)
    {
        var order = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var (pa, pb) = (Vector256.Shuffle(a, order), Vector256.Shuffle(b, order));
        return (Vector256.Create(pa.GetLower(), pb.GetLower()), Vector256.Create(pa.GetUpper(), pb.GetUpper()));
    }

    /// <summary>
    /// <see cref="NanRule.Beats"/> lane by lane: the candidate beats a best that is not NaN unless it is less than or
    /// equal to it (so a NaN candidate does); where it does, it and its index replace them.
    /// </summary>
    private static void Take(Vector128<float> candidate, int index, ref Vector128<float> best, ref Vector128<int> which)
    {
        var beats = Vector128.AndNot(Vector128.Equals(best, best), Vector128.LessThanOrEqual(candidate, best));
        best = Vector128.ConditionalSelect(beats, candidate, best);
        which = Vector128.ConditionalSelect(beats.AsInt32(), Vector128.Create(index), which);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Take(Vector256<float> candidate, int index, ref Vector256<float> best, ref Vector256<int> which)
    {
        var beats = Vector256.AndNot(Vector256.Equals(best, best), Vector256.LessThanOrEqual(candidate, best));
        best = Vector256.ConditionalSelect(beats, candidate, best);
        which = Vector256.ConditionalSelect(beats.AsInt32(), Vector256.Create(index), which);
    }

    /// <summary>dx takes dy where the window's argmax is, 0 elsewhere (and in the rows and columns floor mode drops).</summary>
    public static void Backward(float[] dy, int[] argmax, float[] dx, PoolShape s, int parallelism)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        WorkerTeam.For(s.Batch * s.Channels, parallelism, plane =>
        {
            var target = dx.AsSpan(plane * s.Height * s.Width, s.Height * s.Width);
            // Scatter writes every place of every window; what floor mode drops is zeroed here.
            target[(2 * oh * s.Width)..].Clear();
            if (s.Width % 2 != 0)
                for (var row = 0; row < 2 * oh; row++)
                    target[row * s.Width + s.Width - 1] = 0f;
            Scatter(dy.AsSpan(plane * oh * ow, oh * ow), argmax.AsSpan(plane * oh * ow, oh * ow), target, ow, s.Width);
        });
    }

    /// <summary>
    /// One plane's gradient into <paramref name="target"/> (rows of <paramref name="rowStride"/>): all four places of
    /// every window, dy[py, px] at its argmax and 0 at the other three, so a caller that zeroed the rest of the target
    /// once need not zero it again. Eight windows at a time with AVX, and so a row of fewer than eight windows too
    /// where the spans hold eight of them: it writes zeros past its windows, up to 16 floats from its rows' starts,
    /// onto places that later rows write or that are zero anyway.
    /// </summary>
    public static void Scatter(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> target, int ow, int rowStride)
    {
        var oh = dy.Length / ow;
        for (var py = 0; py < oh; py++)
        {
            var gradients = dy[(py * ow)..];
            var windows = argmax[(py * ow)..];
            var top = target[(2 * py * rowStride)..];
            var bottom = target[((2 * py + 1) * rowStride)..];
            var done = 0;
            if (Avx.IsSupported && (ow >= 8 || (gradients.Length >= 8 && windows.Length >= 8 && bottom.Length >= 16)))
            {
                var used = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(ow)).AsSingle();
                for (var px = 0; px < ow; px += 8)
                {
                    var at = Math.Max(0, Math.Min(px, ow - 8));
                    var g = Vector256.BitwiseAnd(Vector256.Create(gradients[at..]), used);
                    var a = Vector256.Create(windows[at..]);
                    StoreInterleaved(Pick(g, a, 0), Pick(g, a, 1), top[(2 * at)..]);
                    StoreInterleaved(Pick(g, a, 2), Pick(g, a, 3), bottom[(2 * at)..]);
                }
                done = ow;
            }
            for (var px = done; px < ow; px++)
            {
                var (g, a) = (gradients[px], windows[px]);
                top[2 * px] = a == 0 ? g : 0f;
                top[2 * px + 1] = a == 1 ? g : 0f;
                bottom[2 * px] = a == 2 ? g : 0f;
                bottom[2 * px + 1] = a == 3 ? g : 0f;
            }
        }
    }

    /// <summary>The gradients whose window's argmax is <paramref name="place"/>, 0 in the other lanes.</summary>
    private static Vector256<float> Pick(Vector256<float> gradients, Vector256<int> argmax, int place) =>
        Vector256.ConditionalSelect(Vector256.Equals(argmax, Vector256.Create(place)).AsSingle(), gradients, Vector256<float>.Zero);

    /// <summary>even[0], odd[0], even[1], odd[1], … into sixteen floats of <paramref name="target"/>.</summary>
    private static void StoreInterleaved(Vector256<float> even, Vector256<float> odd, Span<float> target)
    {
        var (low, high) = (Avx.UnpackLow(even, odd), Avx.UnpackHigh(even, odd));
        Avx.Permute2x128(low, high, 0x20).CopyTo(target);
        Avx.Permute2x128(low, high, 0x31).CopyTo(target[8..]);
    }
}

internal sealed class SimdMaxPoolLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.MaxPool;
    public override (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) => (batch * op.Output.Size, 0, 0);
    public override void Forward(SimdOp o) => SimdMaxPool.Forward(o.Input, o.Output, o.Argmax, o.Op.Pooling(o.Batch), o.Parallelism);
    public override void Backward(SimdOp o) => SimdMaxPool.Backward(o.Gradient, o.Argmax, o.InputGradient!, o.Op.Pooling(o.Batch), o.Parallelism);
}
