using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="MaxPoolKernels"/> on the host: 2x2 windows, stride 2, floor mode, the first maximum (or NaN) wins.</summary>
public static class SimdMaxPool
{
    public static void Forward(float[] x, float[] y, int[] argmax, PoolShape s, ParallelOptions options)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        // Four windows at a time (two rows of eight columns) where a row has four or more; a last block that would
        // run past the used columns is moved back to end at them, recomputing a few windows with the same result.
        var blocks = Vector128.IsHardwareAccelerated && ow >= 4 ? (ow + 3) / 4 : 0;
        Parallel.For(0, s.Batch * s.Channels, options, plane =>
        {
            for (var py = 0; py < oh; py++)
            for (var block = 0; block < blocks; block++)
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
            for (var px = blocks > 0 ? ow : 0; px < ow; px++)
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

    /// <summary>The even and the odd elements of the eight in (a, b), each in order.</summary>
    private static (Vector128<float> Even, Vector128<float> Odd) Deinterleave(Vector128<float> a, Vector128<float> b)
    {
        var order = Vector128.Create(0, 2, 1, 3);
        var (pa, pb) = (Vector128.Shuffle(a, order), Vector128.Shuffle(b, order));
        return (Vector128.Create(pa.GetLower(), pb.GetLower()), Vector128.Create(pa.GetUpper(), pb.GetUpper()));
    }

    /// <summary><see cref="NanRule.Beats"/> in four lanes: where the candidate beats the best, it and its index replace them.</summary>
    private static void Take(Vector128<float> candidate, int index, ref Vector128<float> best, ref Vector128<int> which)
    {
        var beats = Vector128.GreaterThan(candidate, best) | (~Vector128.Equals(candidate, candidate) & Vector128.Equals(best, best));
        best = Vector128.ConditionalSelect(beats, candidate, best);
        which = Vector128.ConditionalSelect(beats.AsInt32(), Vector128.Create(index), which);
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
