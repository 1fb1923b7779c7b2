using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// The model's first block fused: Conv2D (stride 1, valid) + bias + ReLU + MaxPool 2x2 + inverted dropout. Only the
/// pooled, dropped output and its argmax are stored: a quarter of the conv activations, and one launch each way.
/// Output [Batch, Out, OutHeight/2, OutWidth/2]; element i of it (flat) is dropped by <see cref="DropoutParameters"/>.
/// </summary>
public static class ConvBlockKernels
{
    public static int PooledHeight(ConvShape s) => s.OutHeight / 2;
    public static int PooledWidth(ConvShape s) => s.OutWidth / 2;
    /// <summary>Pooled outputs of one image: Out · H'/2 · W'/2.</summary>
    public static int Outputs(ConvShape s) => s.OutChannels * PooledHeight(s) * PooledWidth(s);
    /// <summary>Threads of <see cref="Forward"/> when each takes <paramref name="columns"/> pooled outputs of a row.</summary>
    public static int ForwardThreads(ConvShape s, int columns) =>
        s.Batch * s.OutChannels * PooledHeight(s) * ((PooledWidth(s) + columns - 1) / columns);

    /// <summary>
    /// One thread per <paramref name="columns"/> pooled outputs of a row (n, co, py) (a whole row on the CPU
    /// accelerator, one output on a GPU): the four ReLU'd conv outputs of each 2x2 window, their first maximum (argmax
    /// 0..3 as <see cref="MaxPoolKernels"/>), then dropout. Launch: ForwardThreads(s, columns).
    /// </summary>
    public static void Forward(
        Index1D thread, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        ArrayView<int> argmax, ConvShape s, DropoutParameters dropout, int columns)
    {
        var ph = PooledHeight(s);
        var pw = PooledWidth(s);
        var strips = (pw + columns - 1) / columns;
        var strip = thread % strips;
        var row = thread / strips;
        var py = row % ph;
        var co = (row / ph) % s.OutChannels;
        var n = row / (ph * s.OutChannels);
        var outRow = ((n * s.OutChannels + co) * ph + py) * pw;
        var k = s.KernelSize;
        for (var px = strip * columns; px < pw && px < (strip + 1) * columns; px++)
        {
            // The window's four conv outputs together: each weight is loaded once; each sum runs in the same order as
            // Conv2DKernels.At, so the results are bit-identical to the unfused layers.
            var v0 = bias[co];
            var v1 = v0;
            var v2 = v0;
            var v3 = v0;
            for (var ci = 0; ci < s.InChannels; ci++)
            {
                var inBase = ((n * s.InChannels + ci) * s.Height + 2 * py) * s.Width + 2 * px;
                var wBase = (co * s.InChannels + ci) * k * k;
                for (var ky = 0; ky < k; ky++)
                {
                    for (var kx = 0; kx < k; kx++)
                    {
                        var w = weight[wBase + ky * k + kx];
                        var p = inBase + ky * s.Width + kx;
                        v0 += x[p] * w;
                        v1 += x[p + 1] * w;
                        v2 += x[p + s.Width] * w;
                        v3 += x[p + s.Width + 1] * w;
                    }
                }
            }
            var best = NanRule.Relu(v0);
            var which = 0;
            v1 = NanRule.Relu(v1);
            if (NanRule.Beats(v1, best)) { best = v1; which = 1; }
            v2 = NanRule.Relu(v2);
            if (NanRule.Beats(v2, best)) { best = v2; which = 2; }
            v3 = NanRule.Relu(v3);
            if (NanRule.Beats(v3, best)) { best = v3; which = 3; }
            var i = outRow + px;
            y[i] = dropout.Keeps(i) ? best * dropout.Scale : 0f;
            argmax[i] = which;
        }
    }

    /// <summary>
    /// The first stage of the parameter gradients for GPUs, which the single-stage kernel below would leave mostly idle
    /// (OutChannels·(Taps + 1) threads): one thread per (co, tap, image, chunk of pooled rows) writes its partial sum to
    /// partials[(tap·Batch + n)·chunks + chunk]; <see cref="SumParameterPartials"/> adds them in (image, chunk) order,
    /// so the bits do not depend on the launch. Launch: s.BackwardParameterThreads · Batch · chunks threads.
    /// </summary>
    public static void BackwardParameterPartials(
        Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, ArrayView<float> dy,
        ArrayView<float> partials, ConvShape s, DropoutParameters dropout, int chunks)
    {
        var chunk = thread % chunks;
        var rows = (PooledHeight(s) + chunks - 1) / chunks;
        partials[thread] = AddImage(0f, x, y, argmax, dy, s, dropout, s.TapOf(thread / chunks / s.Batch), thread / chunks % s.Batch,
            chunk * rows, (chunk + 1) * rows);
    }

    /// <summary>
    /// The second stage: one thread per (co, tap) adds its <paramref name="count"/> partials in a fixed order
    /// (<see cref="StridedSum"/>) and stores the weight or bias gradient. Launch: s.BackwardParameterThreads threads.
    /// </summary>
    public static void SumParameterPartials(Index1D thread, ArrayView<float> partials, ArrayView<float> dWeight, ArrayView<float> dBias,
        ConvShape s, int count)
    {
        s.TapOf(thread).Store(dWeight, dBias, StridedSum.Of(partials, thread * count, 1, count));
    }

    /// <summary>
    /// One thread per (co, tap) as <see cref="Conv2DKernels.BackwardParameters"/> (tap = Taps is the bias), but
    /// walking only the pooled outputs: a pooled output y &gt; 0 was kept by dropout and passed ReLU, so its gradient
    /// dy·scale flows to the conv output at its argmax; every other conv output gets none. Sums run in (n, py, px)
    /// order. Launch: s.BackwardParameterThreads.
    /// </summary>
    public static void BackwardParameters(
        Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, ArrayView<float> dy,
        ArrayView<float> dWeight, ArrayView<float> dBias, ConvShape s, DropoutParameters dropout)
    {
        var tap = s.TapOf(thread);
        var sum = 0f;
        for (var n = 0; n < s.Batch; n++)
            sum = AddImage(sum, x, y, argmax, dy, s, dropout, tap, n, 0, PooledHeight(s));
        tap.Store(dWeight, dBias, sum);
    }

    /// <summary>
    /// <paramref name="sum"/> plus image n's terms of a tap's gradient over pooled rows [rowBegin, rowEnd), in (py, px)
    /// order: a pooled output y &gt; 0 passed ReLU and dropout, so its gradient dy·scale flows to the conv output at its
    /// argmax.
    /// </summary>
    private static float AddImage(float sum, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, ArrayView<float> dy,
        ConvShape s, DropoutParameters dropout, ParameterTap tap, int n, int rowBegin, int rowEnd)
    {
        var ph = PooledHeight(s);
        var pw = PooledWidth(s);
        var outBase = (n * s.OutChannels + tap.OutChannel) * ph * pw;
        var xBase = tap.InputBase(s, n);
        for (var py = rowBegin; py < ph && py < rowEnd; py++)
        {
            for (var px = 0; px < pw; px++)
            {
                var i = outBase + py * pw + px;
                if (!(y[i] > 0f))
                    continue;
                var g = dy[i] * dropout.Scale;
                var a = argmax[i];
                sum += tap.IsBias ? g : g * x[xBase + (2 * py + a / 2) * s.Width + 2 * px + a % 2];
            }
        }
        return sum;
    }
}
