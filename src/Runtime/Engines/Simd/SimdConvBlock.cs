using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The fused conv block of <see cref="ConvBlockKernels"/> (conv + bias + ReLU + 2x2 max-pool + dropout, and its
/// parameter gradients) on the host, one image per call. The model's shape (one input channel, 3x3 kernel, pooled rows
/// of at least 8) runs vectorised across 8 neighbouring pooled columns on <see cref="PooledConvStrips"/>; other
/// shapes run a scalar loop. Pooled output i of image n is element n·outputs + i of the dropout stream, as on the device.
/// </summary>
public static class SimdConvBlock
{
    /// <summary>Floats of one image's parameter-gradient partial: per filter, its taps then its bias.</summary>
    public static int PartialLength(ConvShape s) => s.OutChannels * (s.Taps + 1);

    private static bool Vectorised(ConvShape s) => PooledConvStrips.Fit(s);

    /// <summary>One image x [In, H, W] → y [Out, H'/2, W'/2] and argmax (0..3 within each window, first maximum).</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<int> argmax, ConvShape s, DropoutParameters dropout, int firstElement)
    {
        var outputs = ConvBlockKernels.Outputs(s);
        if (Vectorised(s))
            PooledConvStrips.Forward<PooledConvStrips.BiasTapsRelu>(x, weight, bias, y, argmax, s);
        else
            ForwardScalar(x, weight, bias, y, argmax, s);
        SimdDropout.Apply(y[..outputs], firstElement, dropout);
    }

    /// <summary>
    /// One image's weight and bias gradients into <paramref name="partial"/> (see <see cref="PartialLength"/>): each
    /// kept, positive pooled output sends dy·scale to the conv output it came from.
    /// </summary>
    public static void BackwardParameters(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax,
        ReadOnlySpan<float> dy, Span<float> partial, ConvShape s, DropoutParameters dropout)
    {
        if (Vectorised(s))
            BackwardVectorised(x, y, argmax, dy, partial, s, dropout.Scale);
        else
            BackwardScalar(x, y, argmax, dy, partial, s, dropout.Scale);
    }

    /// <summary>Pixels of one image of x [Batch, In, H, W].</summary>
    private static int Pixels(ConvShape s) => s.InChannels * s.Height * s.Width;

    private static ConvShape OneImage(ConvShape s) => new(1, s.InChannels, s.OutChannels, s.Height, s.Width, s.KernelSize);

    /// <summary>
    /// The s.Batch images of x through <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{int}, ConvShape, DropoutParameters, int)"/>,
    /// in parallel by image.
    /// </summary>
    public static void Forward(float[] x, ReadOnlyMemory<float> weight, ReadOnlyMemory<float> bias, float[] y, int[] argmax,
        ConvShape s, DropoutParameters dropout, int parallelism)
    {
        var (pixels, outputs, image) = (Pixels(s), ConvBlockKernels.Outputs(s), OneImage(s));
        WorkerTeam.For(s.Batch, parallelism, n => Forward(x.AsSpan(n * pixels, pixels), weight.Span, bias.Span,
            y.AsSpan(n * outputs, outputs), argmax.AsSpan(n * outputs, outputs), image, dropout, n * outputs));
    }

    /// <summary>
    /// dW and db of the s.Batch images: per-image partials in parallel into <paramref name="partials"/> (s.Batch ·
    /// <see cref="PartialLength"/> floats), then added in image order, so the bits do not depend on the core count.
    /// </summary>
    public static void BackwardParameters(float[] x, float[] y, int[] argmax, float[] dy, float[] partials, Span<float> dWeight,
        Span<float> dBias, ConvShape s, DropoutParameters dropout, int parallelism)
    {
        var (pixels, outputs, length, image) = (Pixels(s), ConvBlockKernels.Outputs(s), PartialLength(s), OneImage(s));
        WorkerTeam.For(s.Batch, parallelism, n => BackwardParameters(x.AsSpan(n * pixels, pixels), y.AsSpan(n * outputs, outputs),
            argmax.AsSpan(n * outputs, outputs), dy.AsSpan(n * outputs, outputs), partials.AsSpan(n * length, length), image, dropout));
        dWeight.Clear();
        dBias.Clear();
        for (var n = 0; n < s.Batch; n++)
        {
            var partial = partials.AsSpan(n * length, length);
            for (var co = 0; co < s.OutChannels; co++)
            {
                for (var t = 0; t < s.Taps; t++)
                    dWeight[co * s.Taps + t] += partial[co * (s.Taps + 1) + t];
                dBias[co] += partial[co * (s.Taps + 1) + s.Taps];
            }
        }
    }

    /// <summary>
    /// Per filter, ten 8-lane sums (nine taps and the bias) over every strip, reduced across lanes at the end. The
    /// input under tap t of each output is picked from the four window cells by its argmax. Lanes of the last strip that
    /// an earlier strip already covered carry no gradient.
    /// </summary>
    private static void BackwardVectorised(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax,
        ReadOnlySpan<float> dy, Span<float> partial, ConvShape s, float scale)
    {
        var (ph, pw) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s));
        var image = new PooledConvStrips.SplitImage(x, s, stackalloc float[PooledConvStrips.SplitImage.Length(s)]);
        ref var yr = ref MemoryMarshal.GetReference(y);
        ref var dyr = ref MemoryMarshal.GetReference(dy);
        ref var ar = ref MemoryMarshal.GetReference(argmax);
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var (one, two, three) = (Vector256.Create(1), Vector256.Create(2), Vector256.Create(3));
        var gradientScale = Vector256.Create(scale);
        for (var co = 0; co < s.OutChannels; co++)
        {
            Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default;
            Vector256<float> t5 = default, t6 = default, t7 = default, t8 = default, tb = default;
            for (var py = 0; py < ph; py++)
            {
                for (var strip = 0; strip < PooledConvStrips.StripCount(pw); strip++)
                {
                    var p0 = PooledConvStrips.StripStart(strip, pw);
                    var at = (nuint)((co * ph + py) * pw + p0);
                    var live = Vector256.GreaterThan(Vector256.LoadUnsafe(ref yr, at), Vector256<float>.Zero)
                        & Vector256.GreaterThanOrEqual(lane, Vector256.Create(strip * PooledConvStrips.Lanes - p0)).AsSingle();
                    var g = Vector256.ConditionalSelect(live, Vector256.LoadUnsafe(ref dyr, at) * gradientScale, Vector256<float>.Zero);
                    var a = Vector256.LoadUnsafe(ref ar, at);
                    var (is1, is2, is3) = (Vector256.Equals(a, one).AsSingle(), Vector256.Equals(a, two).AsSingle(), Vector256.Equals(a, three).AsSingle());
                    var r = image.Load(py, p0);
                    t0 = Vector256.FusedMultiplyAdd(g, Pick(r.R00, r.R01, r.R10, r.R11, is1, is2, is3), t0);
                    t1 = Vector256.FusedMultiplyAdd(g, Pick(r.R01, r.R02, r.R11, r.R12, is1, is2, is3), t1);
                    t2 = Vector256.FusedMultiplyAdd(g, Pick(r.R02, r.R03, r.R12, r.R13, is1, is2, is3), t2);
                    t3 = Vector256.FusedMultiplyAdd(g, Pick(r.R10, r.R11, r.R20, r.R21, is1, is2, is3), t3);
                    t4 = Vector256.FusedMultiplyAdd(g, Pick(r.R11, r.R12, r.R21, r.R22, is1, is2, is3), t4);
                    t5 = Vector256.FusedMultiplyAdd(g, Pick(r.R12, r.R13, r.R22, r.R23, is1, is2, is3), t5);
                    t6 = Vector256.FusedMultiplyAdd(g, Pick(r.R20, r.R21, r.R30, r.R31, is1, is2, is3), t6);
                    t7 = Vector256.FusedMultiplyAdd(g, Pick(r.R21, r.R22, r.R31, r.R32, is1, is2, is3), t7);
                    t8 = Vector256.FusedMultiplyAdd(g, Pick(r.R22, r.R23, r.R32, r.R33, is1, is2, is3), t8);
                    tb += g;
                }
            }
            var sums = partial.Slice(co * 10, 10);
            (sums[0], sums[1], sums[2], sums[3], sums[4]) = (Vector256.Sum(t0), Vector256.Sum(t1), Vector256.Sum(t2), Vector256.Sum(t3), Vector256.Sum(t4));
            (sums[5], sums[6], sums[7], sums[8], sums[9]) = (Vector256.Sum(t5), Vector256.Sum(t6), Vector256.Sum(t7), Vector256.Sum(t8), Vector256.Sum(tb));
        }
    }

    /// <summary>The input under one tap for window cell 0 (top left), 1 (top right), 2 or 3 (bottom), per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pick(Vector256<float> cell0, Vector256<float> cell1, Vector256<float> cell2, Vector256<float> cell3,
        Vector256<float> is1, Vector256<float> is2, Vector256<float> is3) =>
        Vector256.ConditionalSelect(is3, cell3, Vector256.ConditionalSelect(is2, cell2, Vector256.ConditionalSelect(is1, cell1, cell0)));

    private static void ForwardScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, Span<int> argmax, ConvShape s)
    {
        var (ph, pw, k) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s), s.KernelSize);
        Span<float> cells = stackalloc float[4];
        for (var co = 0; co < s.OutChannels; co++)
        {
            for (var py = 0; py < ph; py++)
            {
                for (var px = 0; px < pw; px++)
                {
                    cells.Fill(bias[co]);
                    for (var ci = 0; ci < s.InChannels; ci++)
                    {
                        for (var t = 0; t < k * k; t++)
                        {
                            var w = weight[(co * s.InChannels + ci) * k * k + t];
                            var p = (ci * s.Height + 2 * py + t / k) * s.Width + 2 * px + t % k;
                            cells[0] = MathF.FusedMultiplyAdd(x[p], w, cells[0]);
                            cells[1] = MathF.FusedMultiplyAdd(x[p + 1], w, cells[1]);
                            cells[2] = MathF.FusedMultiplyAdd(x[p + s.Width], w, cells[2]);
                            cells[3] = MathF.FusedMultiplyAdd(x[p + s.Width + 1], w, cells[3]);
                        }
                    }
                    var (best, which) = (NanRule.Relu(cells[0]), 0);
                    for (var d = 1; d < 4; d++)
                    {
                        var v = NanRule.Relu(cells[d]);
                        if (NanRule.Beats(v, best))
                            (best, which) = (v, d);
                    }
                    var i = (co * ph + py) * pw + px;
                    (y[i], argmax[i]) = (best, which);
                }
            }
        }
    }

    private static void BackwardScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax,
        ReadOnlySpan<float> dy, Span<float> partial, ConvShape s, float scale)
    {
        var (ph, pw, k) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s), s.KernelSize);
        partial[..PartialLength(s)].Clear();
        for (var co = 0; co < s.OutChannels; co++)
        {
            var sums = partial.Slice(co * (s.Taps + 1), s.Taps + 1);
            for (var i = co * ph * pw; i < (co + 1) * ph * pw; i++)
            {
                if (!(y[i] > 0f))
                    continue;
                var g = dy[i] * scale;
                var (py, px) = (i / pw % ph, i % pw);
                var (oy, ox) = (2 * py + (argmax[i] >> 1), 2 * px + (argmax[i] & 1));
                for (var ci = 0; ci < s.InChannels; ci++)
                    for (var t = 0; t < k * k; t++)
                        sums[ci * k * k + t] = MathF.FusedMultiplyAdd(g, x[(ci * s.Height + oy + t / k) * s.Width + ox + t % k], sums[ci * k * k + t]);
                sums[s.Taps] += g;
            }
        }
    }
}

/// <summary>The conv block as an op: conv2d + ReLU + 2x2 max-pool (+ dropout), forward and weight gradients.</summary>
internal sealed class SimdConvBlockLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.Conv2d;
    public override bool IsFusion => true;

    public override (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) =>
        (batch * op.Output.Size, 0, train * SimdConvBlock.PartialLength(op.Conv(1)));

    public override void Forward(SimdOp o) =>
        SimdConvBlock.Forward(o.Input, o.Parameter("weight"), o.Parameter("bias"), o.Output, o.Argmax, o.Op.Conv(o.Batch), o.Dropout, o.Parallelism);

    public override void Backward(SimdOp o) =>
        SimdConvBlock.BackwardParameters(o.Input, o.Output, o.Argmax, o.Gradient, o.Scratch, o.GradientOf("weight"), o.GradientOf("bias"), o.Op.Conv(o.Batch),
            o.Dropout, o.Parallelism);
}
