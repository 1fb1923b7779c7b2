using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>2x2 max pooling, stride 2, NCHW, floor mode: x [Batch, C, H, W] → y [Batch, C, H/2, W/2].</summary>
public readonly struct PoolShape
{
    public PoolShape(int batch, int channels, int height, int width)
    {
        Batch = batch;
        Channels = channels;
        Height = height;
        Width = width;
    }

    public int Batch { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int OutHeight => Height / 2;
    public int OutWidth => Width / 2;

    public int ForwardRows => Batch * Channels * OutHeight;
    public int BackwardRows => Batch * Channels * Height;
}

public static class MaxPoolKernels
{
    /// <summary>
    /// One thread per output row (n, c, py): y = max of the 2x2 window; argmax records which of the four won
    /// (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right; the first maximum on ties, and the first NaN, as PyTorch).
    /// Each thread takes a strip of the row. Launch: strips.Threads(ForwardRows).
    /// </summary>
    public static void Forward(Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolShape s, RowStrips strips)
    {
        var row = strips.Row(thread);
        var oh = s.OutHeight;
        var ow = s.OutWidth;
        var py = row % oh;
        var plane = row / oh;
        var inRow = (plane * s.Height + 2 * py) * s.Width;
        var outRow = (plane * oh + py) * ow;
        for (var px = strips.Begin(thread); px < strips.End(thread); px++)
        {
            var i = inRow + 2 * px;
            var best = x[i];
            var which = 0;
            var v = x[i + 1];
            if (NanRule.Beats(v, best)) { best = v; which = 1; }
            v = x[i + s.Width];
            if (NanRule.Beats(v, best)) { best = v; which = 2; }
            v = x[i + s.Width + 1];
            if (NanRule.Beats(v, best)) { best = v; which = 3; }
            y[outRow + px] = best;
            argmax[outRow + px] = which;
        }
    }

    /// <summary>
    /// One thread per input row (n, c, iy): dx takes dy where the window's argmax is this element, else 0 (also for
    /// the rows and columns floor mode drops). Windows do not overlap, so each dx is written once. Launch: strips.Threads(BackwardRows).
    /// </summary>
    public static void Backward(Index1D thread, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PoolShape s, RowStrips strips)
    {
        var row = strips.Row(thread);
        var oh = s.OutHeight;
        var ow = s.OutWidth;
        var iy = row % s.Height;
        var plane = row / s.Height;
        var py = iy / 2;
        var dxRow = (plane * s.Height + iy) * s.Width;
        var outRow = (plane * oh + py) * ow;
        for (var ix = strips.Begin(thread); ix < strips.End(thread); ix++)
        {
            var px = ix / 2;
            var g = 0f;
            if (py < oh && px < ow && argmax[outRow + px] == (iy % 2) * 2 + ix % 2)
                g = dy[outRow + px];
            dx[dxRow + ix] = g;
        }
    }
}
