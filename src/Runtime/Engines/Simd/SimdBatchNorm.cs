using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="BatchNormKernels"/> on the host: channels in parallel, each channel's sums in double over its planes in
/// image order, eight lanes at a time (<see cref="Sums"/>), so the bits do not depend on the core count; after a dense
/// layer, eight channels at a time, a channel to a lane, with the same sums. <c>saved</c> holds mean then
/// 1/sqrt(var + eps) per channel. A ReLU after it runs in the same passes.
/// </summary>
public static class SimdBatchNorm
{
    /// <summary>
    /// y = (x - mean)·invstd·weight + bias, then <see cref="NanRule.Relu"/> when <paramref name="relu"/>. Training: the
    /// batch's statistics into saved, and the running statistics updated; inference: the running statistics.
    /// </summary>
    public static void Forward(float[] x, float[] y, float[] parameters, int weight, int bias, int runningMean, int runningVar,
        float[] saved, BatchNormShape s, bool training, bool relu, int parallelism)
    {
        ForEachChannel(s, parallelism,
            c0 => ForwardFeatures(c0, x, y, parameters, weight, bias, runningMean, runningVar, saved, s, training, relu),
            c => ForwardChannel(c, x, y, parameters, weight, bias, runningMean, runningVar, saved, s, training, relu));
    }

    private static void ForwardChannel(int c, float[] x, float[] y, float[] parameters, int weight, int bias, int runningMean, int runningVar,
        float[] saved, BatchNormShape s, bool training, bool relu)
    {
        if (training)
        {
            var sum = new Sums();
            for (var n = 0; n < s.Batch; n++)
                sum.Add(Plane(x, s, n, c));
            var mean = sum.Total / s.PerChannel;
            var squares = new Sums();
            for (var n = 0; n < s.Batch; n++)
                squares.AddSquaredDeviations(Plane(x, s, n, c), mean);
            SaveStatistics(c, mean, squares.Total, parameters, runningMean, runningVar, saved, s);
        }
        else
            SaveRunningStatistics(c, parameters, runningMean, runningVar, saved, s);
        var (m, invstd, w, b) = (saved[c], saved[s.Channels + c], parameters[weight + c], parameters[bias + c]);
        for (var n = 0; n < s.Batch; n++)
        {
            var source = Plane(x, s, n, c);
            var target = Plane(y, s, n, c);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var (vm, vs, vw, vb) = (Vector256.Create(m), Vector256.Create(invstd), Vector256.Create(w), Vector256.Create(b));
                ref var from = ref MemoryMarshal.GetReference(source);
                ref var to = ref MemoryMarshal.GetReference(target);
                for (; i + 8 <= source.Length; i += 8)
                {
                    var v = (Vector256.LoadUnsafe(ref from, (nuint)i) - vm) * vs * vw + vb;
                    (relu ? SimdRelu.Of(v) : v).StoreUnsafe(ref to, (nuint)i);
                }
            }
            for (; i < source.Length; i++)
            {
                var v = (source[i] - m) * invstd * w + b;
                target[i] = relu ? NanRule.Relu(v) : v;
            }
        }
    }

    /// <summary>A channel's batch statistics into saved, and its running statistics updated, from Σx/M and Σ(x - mean)².</summary>
    private static void SaveStatistics(int c, double mean, double squares, float[] parameters, int runningMean, int runningVar, float[] saved, BatchNormShape s)
    {
        var count = s.PerChannel;
        var variance = squares / count;
        saved[c] = (float)mean;
        saved[s.Channels + c] = (float)(1.0 / Math.Sqrt(variance + BatchNormShape.Epsilon));
        var unbiased = count > 1 ? squares / (count - 1) : variance;
        ref var rm = ref parameters[runningMean + c];
        ref var rv = ref parameters[runningVar + c];
        rm = (1f - BatchNormShape.Momentum) * rm + BatchNormShape.Momentum * (float)mean;
        rv = (1f - BatchNormShape.Momentum) * rv + BatchNormShape.Momentum * (float)unbiased;
    }

    private static void SaveRunningStatistics(int c, float[] parameters, int runningMean, int runningVar, float[] saved, BatchNormShape s)
    {
        saved[c] = parameters[runningMean + c];
        saved[s.Channels + c] = 1f / MathF.Sqrt(parameters[runningVar + c] + BatchNormShape.Epsilon);
    }

    /// <summary>
    /// dWeight = Σ g·x̂, dBias = Σ g; dx = weight·invstd/M·(M·g - dBias - x̂·dWeight) when dx is not null, where g is dy,
    /// or, with a ReLU after the batchnorm whose output is <paramref name="reluOutput"/>, y &gt; 0 ? dy : 0, formed as
    /// the sums read dy.
    /// </summary>
    public static void Backward(float[] x, float[] dy, float[]? dx, float[] parameters, int weight, float[] saved,
        float[] gradients, int dWeight, int dBias, BatchNormShape s, float[]? reluOutput, int parallelism)
    {
        ForEachChannel(s, parallelism,
            c0 => BackwardFeatures(c0, x, dy, reluOutput, dx, parameters, weight, saved, gradients, dWeight, dBias, s),
            c => BackwardChannel(c, x, dy, reluOutput, dx, parameters, weight, saved, gradients, dWeight, dBias, s));
    }

    private static void BackwardChannel(int c, float[] x, float[] dy, float[]? reluOutput, float[]? dx, float[] parameters, int weight, float[] saved,
        float[] gradients, int dWeight, int dBias, BatchNormShape s)
    {
        var (mean, invstd) = (saved[c], saved[s.Channels + c]);
        var (sumDy, sumDyXhat) = (new Sums(), new Sums());
        ReadOnlySpan<float> Relu(int n) => reluOutput is null ? default : Plane(reluOutput, s, n, c);
        for (var n = 0; n < s.Batch; n++)
            Sums.AddGradients(ref sumDy, ref sumDyXhat, Plane(dy, s, n, c), Relu(n), Plane(x, s, n, c), mean, invstd);
        var (db, dw) = ((float)sumDy.Total, (float)sumDyXhat.Total);
        gradients[dBias + c] = db;
        gradients[dWeight + c] = dw;
        if (dx is null)
            return;
        float m = s.PerChannel;
        var w = parameters[weight + c];
        var masked = reluOutput is not null;
        for (var n = 0; n < s.Batch; n++)
        {
            var xs = Plane(x, s, n, c);
            var gs = Plane(dy, s, n, c);
            var ys = Relu(n);
            var target = Plane(dx, s, n, c);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var (vscale, vm, vdb, vmean, vs, vdw) = (Vector256.Create(w * invstd / m), Vector256.Create(m), Vector256.Create(db),
                    Vector256.Create(mean), Vector256.Create(invstd), Vector256.Create(dw));
                ref var xr = ref MemoryMarshal.GetReference(xs);
                ref var gr = ref MemoryMarshal.GetReference(gs);
                ref var yr = ref MemoryMarshal.GetReference(ys);
                ref var to = ref MemoryMarshal.GetReference(target);
                for (; i + 8 <= xs.Length; i += 8)
                {
                    var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                    if (masked)
                        g = SimdRelu.Through(g, Vector256.LoadUnsafe(ref yr, (nuint)i));
                    (vscale * (vm * g - vdb - (Vector256.LoadUnsafe(ref xr, (nuint)i) - vmean) * vs * vdw)).StoreUnsafe(ref to, (nuint)i);
                }
            }
            for (; i < xs.Length; i++)
            {
                var g = masked ? SimdRelu.Through(gs[i], ys[i]) : gs[i];
                target[i] = w * invstd / m * (m * g - db - (xs[i] - mean) * invstd * dw);
            }
        }
    }

    private const int Lanes = 8;

    /// <summary>
    /// Blocks of eight channels that run across channels: after a dense layer (one value per channel and image), where a
    /// channel's values are a batch apart. Every other batchnorm runs channel by channel.
    /// </summary>
    private static int FeatureBlocks(BatchNormShape s) => s.Spatial == 1 && Vector256.IsHardwareAccelerated ? s.Channels / Lanes : 0;

    /// <summary>Every channel once, in parallel: blocks of eight from their first channel where they apply, the rest one by one.</summary>
    private static void ForEachChannel(BatchNormShape s, int parallelism, Action<int> block, Action<int> channel)
    {
        var features = FeatureBlocks(s);
        WorkerTeam.For(features + s.Channels - features * Lanes, parallelism, task =>
        {
            if (task < features)
                block(task * Lanes);
            else
                channel(features * Lanes + task - features);
        });
    }

    /// <summary>
    /// <see cref="ForwardChannel"/> for channels [c0, c0 + 8) of a batchnorm over one value per channel, a channel to a
    /// lane. A plane of one value goes to <see cref="Sums"/>' tail, so each lane adds its channel's values in image
    /// order in double, as the tail does, and its total is that sum plus the zero of the empty lanes: the same bits.
    /// </summary>
    private static void ForwardFeatures(int c0, float[] x, float[] y, float[] parameters, int weight, int bias, int runningMean, int runningVar,
        float[] saved, BatchNormShape s, bool training, bool relu)
    {
        var stride = s.Channels;
        if (training)
        {
            var (low, high) = (Vector256<double>.Zero, Vector256<double>.Zero);
            for (var n = 0; n < s.Batch; n++)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(x.AsSpan(n * stride + c0, Lanes)));
                (low, high) = (low + lo, high + hi);
            }
            var count = Vector256.Create((double)s.PerChannel);
            var (meanLow, meanHigh) = ((low + Vector256<double>.Zero) / count, (high + Vector256<double>.Zero) / count);
            (low, high) = (Vector256<double>.Zero, Vector256<double>.Zero);
            for (var n = 0; n < s.Batch; n++)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(x.AsSpan(n * stride + c0, Lanes)));
                (lo, hi) = (lo - meanLow, hi - meanHigh);
                (low, high) = (low + lo * lo, high + hi * hi);
            }
            (low, high) = (low + Vector256<double>.Zero, high + Vector256<double>.Zero);
            for (var j = 0; j < Lanes; j++)
                SaveStatistics(c0 + j, j < 4 ? meanLow[j] : meanHigh[j - 4], j < 4 ? low[j] : high[j - 4], parameters, runningMean, runningVar, saved, s);
        }
        else
        {
            for (var j = 0; j < Lanes; j++)
                SaveRunningStatistics(c0 + j, parameters, runningMean, runningVar, saved, s);
        }
        var (m, invstd) = (Vector256.Create(saved.AsSpan(c0, Lanes)), Vector256.Create(saved.AsSpan(stride + c0, Lanes)));
        var (w, b) = (Vector256.Create(parameters.AsSpan(weight + c0, Lanes)), Vector256.Create(parameters.AsSpan(bias + c0, Lanes)));
        for (var n = 0; n < s.Batch; n++)
        {
            var v = (Vector256.Create(x.AsSpan(n * stride + c0, Lanes)) - m) * invstd * w + b;
            (relu ? SimdRelu.Of(v) : v).CopyTo(y.AsSpan(n * stride + c0, Lanes));
        }
    }

    /// <summary><see cref="BackwardChannel"/> for channels [c0, c0 + 8), a channel to a lane, as <see cref="ForwardFeatures"/>: the same bits.</summary>
    private static void BackwardFeatures(int c0, float[] x, float[] dy, float[]? reluOutput, float[]? dx, float[] parameters, int weight, float[] saved,
        float[] gradients, int dWeight, int dBias, BatchNormShape s)
    {
        var stride = s.Channels;
        var (mean, invstd) = (Vector256.Create(saved.AsSpan(c0, Lanes)), Vector256.Create(saved.AsSpan(stride + c0, Lanes)));
        var (dyLow, dyHigh, productLow, productHigh) = (Vector256<double>.Zero, Vector256<double>.Zero, Vector256<double>.Zero, Vector256<double>.Zero);
        Vector256<float> Gradient(int n)
        {
            var g = Vector256.Create(dy.AsSpan(n * stride + c0, Lanes));
            return reluOutput is null ? g : SimdRelu.Through(g, Vector256.Create(reluOutput.AsSpan(n * stride + c0, Lanes)));
        }
        for (var n = 0; n < s.Batch; n++)
        {
            var (glo, ghi) = Vector256.Widen(Gradient(n));
            var (xlo, xhi) = Vector256.Widen((Vector256.Create(x.AsSpan(n * stride + c0, Lanes)) - mean) * invstd);
            (dyLow, dyHigh) = (dyLow + glo, dyHigh + ghi);
            (productLow, productHigh) = (productLow + glo * xlo, productHigh + ghi * xhi);
        }
        var db = Vector256.Narrow(dyLow + Vector256<double>.Zero, dyHigh + Vector256<double>.Zero);
        var dw = Vector256.Narrow(productLow + Vector256<double>.Zero, productHigh + Vector256<double>.Zero);
        db.CopyTo(gradients.AsSpan(dBias + c0, Lanes));
        dw.CopyTo(gradients.AsSpan(dWeight + c0, Lanes));
        if (dx is null)
            return;
        var m = Vector256.Create((float)s.PerChannel);
        var scale = Vector256.Create(parameters.AsSpan(weight + c0, Lanes)) * invstd / m;
        for (var n = 0; n < s.Batch; n++)
        {
            var (g, v) = (Gradient(n), Vector256.Create(x.AsSpan(n * stride + c0, Lanes)));
            (scale * (m * g - db - (v - mean) * invstd * dw)).CopyTo(dx.AsSpan(n * stride + c0, Lanes));
        }
    }

    private static Span<float> Plane(float[] a, BatchNormShape s, int n, int c) => a.AsSpan((n * s.Channels + c) * s.Spatial, s.Spatial);

    /// <summary>
    /// A sum in double over planes added in order: element i of a plane goes to lane i mod 8 (the plane's tail to lane
    /// 0), and <see cref="Total"/> adds the lanes in order. Fixed, so the same bits on any number of cores. Each call
    /// keeps the lanes in locals while it runs: updated as fields, every add waited on a store and a load.
    /// </summary>
    private struct Sums
    {
        private Vector256<double> _low, _high;
        private double _tail;

        public readonly double Total
        {
            get
            {
                var t = _tail;
                for (var i = 0; i < 4; i++)
                    t += _low[i] + _high[i];
                return t;
            }
        }

        public void Add(ReadOnlySpan<float> values) => Add(values, default);

        /// <summary>Adds values, or, where <paramref name="relu"/> is given, values[i] where relu[i] &gt; 0 and 0 elsewhere.</summary>
        public void Add(ReadOnlySpan<float> values, ReadOnlySpan<float> relu)
        {
            if (!relu.IsEmpty && relu.Length < values.Length)
                throw new ArgumentException("the ReLU's output is shorter than the values", nameof(relu));
            var (low, high, tail) = (_low, _high, _tail);
            ref var v = ref MemoryMarshal.GetReference(values);
            ref var r = ref MemoryMarshal.GetReference(relu);
            var masked = !relu.IsEmpty;
            var i = 0;
            for (; i + 8 <= values.Length; i += 8)
            {
                var value = Vector256.LoadUnsafe(ref v, (nuint)i);
                var (lo, hi) = Vector256.Widen(masked ? SimdRelu.Through(value, Vector256.LoadUnsafe(ref r, (nuint)i)) : value);
                low += lo;
                high += hi;
            }
            for (; i < values.Length; i++)
                tail += masked ? SimdRelu.Through(values[i], relu[i]) : values[i];
            (_low, _high, _tail) = (low, high, tail);
        }

        public void AddSquaredDeviations(ReadOnlySpan<float> values, double mean)
        {
            var (low, high, tail) = (_low, _high, _tail);
            ref var v = ref MemoryMarshal.GetReference(values);
            var m = Vector256.Create(mean);
            var i = 0;
            for (; i + 8 <= values.Length; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref v, (nuint)i));
                (lo, hi) = (lo - m, hi - m);
                low += lo * lo;
                high += hi * hi;
            }
            for (; i < values.Length; i++)
                tail += (values[i] - mean) * (values[i] - mean);
            (_low, _high, _tail) = (low, high, tail);
        }

        /// <summary>
        /// In one pass over a plane: Σ g into <paramref name="gradients"/> and Σ g·x̂ into <paramref name="products"/>, with
        /// x̂ = (x - mean)·invstd computed in float, as the kernels do, and g = dy, masked by <paramref name="relu"/> as in
        /// <see cref="Add(ReadOnlySpan{float}, ReadOnlySpan{float})"/>: each sum's additions as that method's, in the same order.
        /// </summary>
        public static void AddGradients(ref Sums gradients, ref Sums products, ReadOnlySpan<float> dy, ReadOnlySpan<float> relu, ReadOnlySpan<float> x,
            float mean, float invstd)
        {
            if (dy.Length < x.Length || (!relu.IsEmpty && relu.Length < x.Length))
                throw new ArgumentException("dy or the ReLU's output is shorter than x", nameof(dy));
            var (low, high, tail) = (gradients._low, gradients._high, gradients._tail);
            var (productLow, productHigh, productTail) = (products._low, products._high, products._tail);
            ref var g = ref MemoryMarshal.GetReference(dy);
            ref var r = ref MemoryMarshal.GetReference(relu);
            ref var v = ref MemoryMarshal.GetReference(x);
            var masked = !relu.IsEmpty;
            var (m, s) = (Vector256.Create(mean), Vector256.Create(invstd));
            var i = 0;
            for (; i + 8 <= x.Length; i += 8)
            {
                var gradient = Vector256.LoadUnsafe(ref g, (nuint)i);
                var (glo, ghi) = Vector256.Widen(masked ? SimdRelu.Through(gradient, Vector256.LoadUnsafe(ref r, (nuint)i)) : gradient);
                var (xlo, xhi) = Vector256.Widen((Vector256.LoadUnsafe(ref v, (nuint)i) - m) * s);
                low += glo;
                high += ghi;
                productLow += glo * xlo;
                productHigh += ghi * xhi;
            }
            for (; i < x.Length; i++)
            {
                var gradient = masked ? SimdRelu.Through(dy[i], relu[i]) : dy[i];
                tail += gradient;
                productTail += gradient * (double)((x[i] - mean) * invstd);
            }
            (gradients._low, gradients._high, gradients._tail) = (low, high, tail);
            (products._low, products._high, products._tail) = (productLow, productHigh, productTail);
        }
    }
}

internal sealed class SimdBatchNormLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.BatchNorm;
    public override (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) => (0, 2 * op.Input.Channels, 0);

    public override void Forward(SimdOp o) =>
        SimdBatchNorm.Forward(o.Input, o.Output, o.Parameters, o.Offset("weight"), o.Offset("bias"), o.Offset("running_mean"), o.Offset("running_var"),
            o.Saved, o.Op.Norm(o.Batch), o.Training, o.Op.Relu, o.Parallelism);

    public override void Backward(SimdOp o) =>
        SimdBatchNorm.Backward(o.Input, o.Gradient, o.InputGradient, o.Parameters, o.Offset("weight"), o.Saved, o.Gradients, o.Offset("weight"), o.Offset("bias"),
            o.Op.Norm(o.Batch), o.Op.Relu ? o.Output : null, o.Parallelism);
}
