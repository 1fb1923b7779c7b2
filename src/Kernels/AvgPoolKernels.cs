using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>2x2 average pooling, stride 2, NCHW, floor mode (shape as <see cref="PoolShape"/>): x [Batch, C, H, W] → y [Batch, C, H/2, W/2].</summary>
public static class AvgPoolKernels
{
    /// <summary>y = (x00 + x01 + x10 + x11) · 0.25, added in that order, per output element. Launch: range.Stride threads over ForwardRows·OutWidth.</summary>
    public static void Forward(Index1D thread, ArrayView<float> x, ArrayView<float> y, PoolShape s, ElementRange range)
    {
        for (var o = (int)thread; o < range.Count; o += range.Stride)
        {
            var px = o % s.OutWidth;
            var row = o / s.OutWidth;
            var py = row % s.OutHeight;
            var plane = row / s.OutHeight;
            var i = (plane * s.Height + 2 * py) * s.Width + 2 * px;
            y[o] = (x[i] + x[i + 1] + x[i + s.Width] + x[i + s.Width + 1]) * 0.25f;
        }
    }

    /// <summary>dx = dy of the element's window · 0.25; 0 for the row and column floor mode drops. Launch: range.Stride threads over BackwardRows·Width.</summary>
    public static void Backward(Index1D thread, ArrayView<float> dy, ArrayView<float> dx, PoolShape s, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var ix = i % s.Width;
            var row = i / s.Width;
            var iy = row % s.Height;
            var plane = row / s.Height;
            var (py, px) = (iy / 2, ix / 2);
            dx[i] = py < s.OutHeight && px < s.OutWidth ? dy[(plane * s.OutHeight + py) * s.OutWidth + px] * 0.25f : 0f;
        }
    }
}
