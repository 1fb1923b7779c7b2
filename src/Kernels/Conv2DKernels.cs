using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// A 2-D convolution, stride 1, zero padding P on every side (0: "valid"; K/2: "same"), NCHW: x [Batch, In, H, W] →
/// y [Batch, Out, H+2P-K+1, W+2P-K+1]; weight [Out, In, K, K] (PyTorch's layout), bias [Out].
/// </summary>
public readonly struct ConvShape
{
    public ConvShape(int batch, int inChannels, int outChannels, int height, int width, int kernelSize, int padding = 0)
    {
        Padding = padding;
        Batch = batch;
        InChannels = inChannels;
        OutChannels = outChannels;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
    }

    public int Batch { get; }
    public int InChannels { get; }
    public int OutChannels { get; }
    public int Height { get; }
    public int Width { get; }
    public int KernelSize { get; }
    public int Padding { get; }
    public int OutHeight => Height + 2 * Padding - KernelSize + 1;
    public int OutWidth => Width + 2 * Padding - KernelSize + 1;
    public ConvShape WithBatch(int batch) => new(batch, InChannels, OutChannels, Height, Width, KernelSize, Padding);

    /// <summary>Weights per output channel; the bias is handled as one extra tap in the parameter gradient.</summary>
    public int Taps => InChannels * KernelSize * KernelSize;

    public int ForwardRows => Batch * OutChannels * OutHeight;

    /// <summary>What thread <paramref name="thread"/> of a parameter-gradient kernel computes (see <see cref="ParameterTap"/>).</summary>
    public ParameterTap TapOf(int thread) => new(this, thread);
    public int BackwardParameterThreads => OutChannels * (Taps + 1);
    public int BackwardInputRows => Batch * InChannels * Height;
}

/// <summary>
/// One weight tap (co, ci, ky, kx) of a convolution, or its bias when <see cref="IsBias"/>: thread t of a
/// parameter-gradient kernel handles tap t mod (Taps + 1) of output channel t div (Taps + 1).
/// </summary>
public readonly struct ParameterTap
{
    public ParameterTap(ConvShape s, int thread)
    {
        var k = s.KernelSize;
        Tap = thread % (s.Taps + 1);
        OutChannel = thread / (s.Taps + 1);
        IsBias = Tap == s.Taps;
        InChannel = IsBias ? 0 : Tap / (k * k);
        Ky = IsBias ? 0 : (Tap / k) % k;
        Kx = IsBias ? 0 : Tap % k;
        WeightIndex = OutChannel * s.Taps + Tap;
    }

    public int Tap { get; }
    public int OutChannel { get; }
    public bool IsBias { get; }
    public int InChannel { get; }
    public int Ky { get; }
    public int Kx { get; }
    public int WeightIndex { get; }

    /// <summary>Where input element (n, InChannel, oy + Ky - P, ox + Kx - P) is, less oy·Width + ox (unpadded shapes only).</summary>
    public int InputBase(ConvShape s, int n) => ((n * s.InChannels + InChannel) * s.Height + Ky) * s.Width + Kx;

    public void Store(ArrayView<float> dWeight, ArrayView<float> dBias, float sum)
    {
        if (IsBias)
            dBias[OutChannel] = sum;
        else
            dWeight[WeightIndex] = sum;
    }
}

public static class Conv2DKernels
{
    /// <summary>
    /// One thread per output row (n, co, oy): y[n,co,oy,ox] = b[co] + Σ_{ci,ky,kx} x[n,ci,oy+ky,ox+kx]·w[co,ci,ky,kx],
    /// then ReLU when <paramref name="relu"/> ≠ 0; each thread takes a strip of the row. Launch: strips.Threads(ForwardRows).
    /// </summary>
    public static void Forward(
        Index1D thread, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        ConvShape s, int relu, RowStrips strips)
    {
        var row = strips.Row(thread);
        var oh = s.OutHeight;
        var ow = s.OutWidth;
        var oy = row % oh;
        var co = (row / oh) % s.OutChannels;
        var n = row / (oh * s.OutChannels);
        var outBase = ((n * s.OutChannels + co) * oh + oy) * ow;
        for (var ox = strips.Begin(thread); ox < strips.End(thread); ox++)
        {
            var acc = At(x, weight, bias, s, n, co, oy, ox);
            if (relu != 0 && acc < 0f)
                acc = 0f;
            y[outBase + ox] = acc;
        }
    }

    /// <summary>
    /// One conv output before activation: b[co] + Σ_{ci,ky,kx} x[n,ci,oy+ky-P,ox+kx-P]·w[co,ci,ky,kx], taps in the
    /// padding skipped.
    /// </summary>
    public static float At(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ConvShape s, int n, int co, int oy, int ox)
    {
        var k = s.KernelSize;
        var acc = bias[co];
        for (var ci = 0; ci < s.InChannels; ci++)
        {
            var plane = (n * s.InChannels + ci) * s.Height;
            var wBase = (co * s.InChannels + ci) * k * k;
            for (var ky = 0; ky < k; ky++)
            {
                var iy = oy + ky - s.Padding;
                if (iy < 0 || iy >= s.Height)
                    continue;
                for (var kx = 0; kx < k; kx++)
                {
                    var ix = ox + kx - s.Padding;
                    if (ix >= 0 && ix < s.Width)
                        acc += x[(plane + iy) * s.Width + ix] * weight[wBase + ky * k + kx];
                }
            }
        }
        return acc;
    }

    /// <summary>
    /// One thread per (co, tap), tap in [0, Taps]: dW[co,ci,ky,kx] = Σ_{n,oy,ox} dy[n,co,oy,ox]·x[n,ci,oy+ky,ox+kx], and
    /// tap = Taps is the bias, db[co] = Σ dy[n,co,·,·]. Sums run in (n, oy, ox) order; dy is already ReLU-masked.
    /// Launch: BackwardParameterThreads.
    /// </summary>
    public static void BackwardParameters(
        Index1D thread, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dWeight, ArrayView<float> dBias,
        ConvShape s)
    {
        var tap = s.TapOf(thread);
        var sum = 0f;
        for (var n = 0; n < s.Batch; n++)
            sum = AddImage(sum, x, dy, s, tap, n);
        tap.Store(dWeight, dBias, sum);
    }

    /// <summary>
    /// The GPU path's convolution as matrix products (im2col): row n·P + p (P output positions, p = oy·OutWidth + ox)
    /// of columns [Batch·P, Taps + 1] holds the input under each tap of output p (0 in the padding), then a 1, whose
    /// column gives db in [dW | db] = dyᵀ·columns. The forward product reads the first Taps columns.
    /// Launch: Batch·P·(Taps + 1) threads.
    /// </summary>
    public static void Columns(Index1D i, ArrayView<float> x, ArrayView<float> columns, ConvShape s)
    {
        var width = s.Taps + 1;
        var tap = i % width;
        var row = i / width;
        var positions = s.OutHeight * s.OutWidth;
        var p = row % positions;
        var n = row / positions;
        var value = 1f;
        if (tap < s.Taps)
        {
            var k = s.KernelSize;
            var ci = tap / (k * k);
            var iy = p / s.OutWidth + (tap / k) % k - s.Padding;
            var ix = p % s.OutWidth + tap % k - s.Padding;
            value = iy >= 0 && iy < s.Height && ix >= 0 && ix < s.Width ? x[((n * s.InChannels + ci) * s.Height + iy) * s.Width + ix] : 0f;
        }
        columns[i] = value;
    }

    /// <summary><paramref name="sum"/> plus image n's terms of a tap's gradient, in (oy, ox) order.</summary>
    private static float AddImage(float sum, ArrayView<float> x, ArrayView<float> dy, ConvShape s, ParameterTap tap, int n)
    {
        var oh = s.OutHeight;
        var ow = s.OutWidth;
        var dyBase = (n * s.OutChannels + tap.OutChannel) * oh * ow;
        var plane = (n * s.InChannels + tap.InChannel) * s.Height;
        for (var oy = 0; oy < oh; oy++)
        {
            var iy = oy + tap.Ky - s.Padding;
            if (!tap.IsBias && (iy < 0 || iy >= s.Height))
                continue;
            for (var ox = 0; ox < ow; ox++)
            {
                var g = dy[dyBase + oy * ow + ox];
                var ix = ox + tap.Kx - s.Padding;
                if (tap.IsBias)
                    sum += g;
                else if (ix >= 0 && ix < s.Width)
                    sum += g * x[(plane + iy) * s.Width + ix];
            }
        }
        return sum;
    }

    /// <summary>
    /// One thread per input row (n, ci, iy): dx[n,ci,iy,ix] = Σ_{co,ky,kx} dy[n,co,iy+P-ky,ix+P-kx]·w[co,ci,ky,kx] over the
    /// taps that land inside dy. Needed by any convolution that is not the first layer; each thread takes a strip of the
    /// row. Launch: strips.Threads(BackwardInputRows).
    /// </summary>
    public static void BackwardInput(
        Index1D thread, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> dx, ConvShape s, RowStrips strips)
    {
        var row = strips.Row(thread);
        var oh = s.OutHeight;
        var ow = s.OutWidth;
        var k = s.KernelSize;
        var iy = row % s.Height;
        var ci = (row / s.Height) % s.InChannels;
        var n = row / (s.Height * s.InChannels);
        var dxBase = ((n * s.InChannels + ci) * s.Height + iy) * s.Width;
        for (var ix = strips.Begin(thread); ix < strips.End(thread); ix++)
        {
            var acc = 0f;
            for (var co = 0; co < s.OutChannels; co++)
            {
                var dyBase = (n * s.OutChannels + co) * oh * ow;
                var wBase = (co * s.InChannels + ci) * k * k;
                for (var ky = 0; ky < k; ky++)
                {
                    var oy = iy + s.Padding - ky;
                    if (oy < 0 || oy >= oh)
                        continue;
                    for (var kx = 0; kx < k; kx++)
                    {
                        var ox = ix + s.Padding - kx;
                        if (ox >= 0 && ox < ow)
                            acc += dy[dyBase + oy * ow + ox] * weight[wBase + ky * k + kx];
                    }
                }
            }
            dx[dxBase + ix] = acc;
        }
    }

    /// <summary>
    /// The GPU path's input gradient from dColumns = dy·W [Batch·P, Taps] (im2col's transpose, a gather):
    /// dx[n,ci,iy,ix] = Σ_{ky,kx} dColumns[n·P + (iy+P-ky)·OutWidth + ix+P-kx, (ci,ky,kx)] over the taps whose output is
    /// inside, in (ky, kx) order. Launch: Batch·In·H·W threads.
    /// </summary>
    public static void InputFromColumns(Index1D i, ArrayView<float> dColumns, ArrayView<float> dx, ConvShape s)
    {
        var k = s.KernelSize;
        var ix = i % s.Width;
        var iy = (i / s.Width) % s.Height;
        var ci = (i / (s.Width * s.Height)) % s.InChannels;
        var n = i / (s.Width * s.Height * s.InChannels);
        var acc = 0f;
        for (var ky = 0; ky < k; ky++)
        {
            var oy = iy + s.Padding - ky;
            if (oy < 0 || oy >= s.OutHeight)
                continue;
            for (var kx = 0; kx < k; kx++)
            {
                var ox = ix + s.Padding - kx;
                if (ox >= 0 && ox < s.OutWidth)
                    acc += dColumns[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.Taps + (ci * k + ky) * k + kx];
            }
        }
        dx[i] = acc;
    }
}
