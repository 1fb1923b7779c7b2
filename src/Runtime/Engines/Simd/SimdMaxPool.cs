using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="MaxPoolKernels"/> on the host: 2x2 windows, stride 2, floor mode, the first maximum (or NaN) wins.</summary>
public static class SimdMaxPool
{
    public static void Forward(float[] x, float[] y, int[] argmax, PoolShape s, ParallelOptions options)
    {
        var (oh, ow) = (s.OutHeight, s.OutWidth);
        Parallel.For(0, s.Batch * s.Channels, options, plane =>
        {
            for (var py = 0; py < oh; py++)
            for (var px = 0; px < ow; px++)
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
