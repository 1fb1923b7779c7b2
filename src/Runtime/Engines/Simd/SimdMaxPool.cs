using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="MaxPoolKernels"/> on the host: 2x2 windows, stride 2, floor mode, the first maximum (or NaN) wins.</summary>
public static class SimdMaxPool
{
    public static void Forward(float[] x, float[] y, int[] argmax, PoolShape s, ParallelOptions options)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        // Rows of at least 16 used columns take eight windows at a time; a last block that would run past the used
        // columns is moved back to end at them instead, recomputing a few windows with the same result.
        var vectorBlocks = Vector256.IsHardwareAccelerated && 2 * ow >= 16 ? (ow + 7) / 8 : 0;
        // Narrower rows (14 columns after a first pool) take four windows at a time in 128-bit vectors.
        var narrowBlocks = vectorBlocks == 0 && Vector128.IsHardwareAccelerated && 2 * ow >= 8 ? (ow + 3) / 4 : 0;
        Parallel.For(0, s.Batch * s.Channels, options, plane =>
        {
            for (var py = 0; py < oh; py++)
            for (var block = 0; block < vectorBlocks; block++)
            {
                var px = Math.Min(block * 8, ow - 8);
                var i = (plane * s.Height + 2 * py) * s.Width + 2 * px;
                var top = x.AsSpan(i, 16);
                var bottom = x.AsSpan(i + s.Width, 16);
                var (v0, v1) = Deinterleave(Vector256.Create<float>(top), Vector256.Create<float>(top[8..]));
                var (v2, v3) = Deinterleave(Vector256.Create<float>(bottom), Vector256.Create<float>(bottom[8..]));
                var (best, which) = (v0, Vector256<int>.Zero);
                Take(v1, 1, ref best, ref which);
                Take(v2, 2, ref best, ref which);
                Take(v3, 3, ref best, ref which);
                var o = (plane * oh + py) * ow + px;
                best.CopyTo(y.AsSpan(o, 8));
                which.CopyTo(argmax.AsSpan(o, 8));
            }
            for (var py = 0; py < oh; py++)
            for (var block = 0; block < narrowBlocks; block++)
            {
                var px = Math.Min(block * 4, ow - 4);
                var i = (plane * s.Height + 2 * py) * s.Width + 2 * px;
                var top = x.AsSpan(i, 8);
                var bottom = x.AsSpan(i + s.Width, 8);
                var (v0, v1) = Deinterleave(Vector128.Create<float>(top), Vector128.Create<float>(top[4..]));
                var (v2, v3) = Deinterleave(Vector128.Create<float>(bottom), Vector128.Create<float>(bottom[4..]));
                var (best, which) = (v0, Vector128<int>.Zero);
                Take(v1, 1, ref best, ref which);
                Take(v2, 2, ref best, ref which);
                Take(v3, 3, ref best, ref which);
                var o = (plane * oh + py) * ow + px;
                best.CopyTo(y.AsSpan(o, 4));
                which.CopyTo(argmax.AsSpan(o, 4));
            }
            for (var py = 0; py < oh; py++)
            for (var px = vectorBlocks + narrowBlocks > 0 ? ow : 0; px < ow; px++)
            {
                var i = (plane * s.Height + 2 * py) * s.Width + 2 * px;
                var (best, which) = (x[i], 0);
                if (NanRule.Beats(x[i + 1], best)) (best, which) = (x[i + 1], 1);
                if (NanRule.Beats(x[i + s.Width], best)) (best, which) = (x[i + s.Width], 2);
                if (NanRule.Beats(x[i + s.Width + 1], best)) (best, which) = (x[i + s.Width + 1], 3);
                var o = (plane * oh + py) * ow + px;
                y[o] = best;
                argmax[o] = which;
            }
        });
    }

    /// <summary>The even and the odd elements of the 16 in (a, b), each in order.</summary>
    private static (Vector256<float> Even, Vector256<float> Odd) Deinterleave(Vector256<float> a, Vector256<float> b)
    {
        var order = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var (pa, pb) = (Vector256.Shuffle(a, order), Vector256.Shuffle(b, order));
        return (Vector256.Create(pa.GetLower(), pb.GetLower()), Vector256.Create(pa.GetUpper(), pb.GetUpper()));
    }

    private static (Vector128<float> Even, Vector128<float> Odd) Deinterleave(Vector128<float> a, Vector128<float> b)
    {
        var order = Vector128.Create(0, 2, 1, 3);
        var (pa, pb) = (Vector128.Shuffle(a, order), Vector128.Shuffle(b, order));
        return (Vector128.Create(pa.GetLower(), pb.GetLower()), Vector128.Create(pa.GetUpper(), pb.GetUpper()));
    }

    private static void Take(Vector128<float> candidate, int index, ref Vector128<float> best, ref Vector128<int> which)
    {
        var beats = Vector128.GreaterThan(candidate, best) | (~Vector128.Equals(candidate, candidate) & Vector128.Equals(best, best));
        best = Vector128.ConditionalSelect(beats, candidate, best);
        which = Vector128.ConditionalSelect(beats.AsInt32(), Vector128.Create(index), which);
    }

    /// <summary><see cref="NanRule.Beats"/> in eight lanes: where the candidate beats the best, it and its index replace them.</summary>
    private static void Take(Vector256<float> candidate, int index, ref Vector256<float> best, ref Vector256<int> which)
    {
        var isNaN = ~Vector256.Equals(candidate, candidate);
        var bestIsNaN = ~Vector256.Equals(best, best);
        var beats = Vector256.GreaterThan(candidate, best) | (isNaN & ~bestIsNaN);
        best = Vector256.ConditionalSelect(beats, candidate, best);
        which = Vector256.ConditionalSelect(beats.AsInt32(), Vector256.Create(index), which);
    }

    /// <summary>dx takes dy where the window's argmax is, 0 elsewhere (and in the rows and columns floor mode drops).</summary>
    public static void Backward(float[] dy, int[] argmax, float[] dx, PoolShape s, ParallelOptions options)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        Parallel.For(0, s.Batch * s.Channels, options, plane =>
        {
            dx.AsSpan(plane * s.Height * s.Width, s.Height * s.Width).Clear();
            for (var py = 0; py < oh; py++)
            for (var px = 0; px < ow; px++)
            {
                var o = (plane * oh + py) * ow + px;
                var a = argmax[o];
                dx[(plane * s.Height + 2 * py + a / 2) * s.Width + 2 * px + a % 2] = dy[o];
            }
        });
    }
}
