using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="OptimizerKernels.Update"/> on the host: eight elements a step, chunks of a run in parallel.</summary>
public static class SimdOptimizer
{
    private const int Chunk = 1 << 14;

    /// <summary>One step over parameters [begin, end); returns whether a parameter became NaN or infinite.</summary>
    public static bool Update(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a, int begin, int end,
        int parallelism)
    {
        var nonFinite = 0;
        var total = parameters.Length;
        if (gradients.Length != total || m.Length != total || v.Length != total)
            throw new ArgumentException($"the optimizer needs four buffers of {total} floats");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, total);
        WorkerTeam.For((end - begin + Chunk - 1) / Chunk, parallelism, c =>
        {
            var (from, to) = (begin + c * Chunk, Math.Min(end, begin + (c + 1) * Chunk));
            var i = Vector256.IsHardwareAccelerated ? Vectorized(parameters, gradients, m, v, a, from, to, ref nonFinite) : from;
            for (; i < to; i++)
            {
                a.Apply(gradients[i], ref m[i], ref v[i], ref parameters[i]);
                if (!float.IsFinite(parameters[i]))
                    nonFinite = 1;
            }
        });
        return nonFinite != 0;
    }

    /// <summary>
    /// <see cref="OptimizerStep.Apply"/> eight elements at a time, the same operations in the same order; returns where
    /// the scalar tail starts. One loop per kind, so the reference's Adam pays for no branch or decay term.
    /// </summary>
    private static int Vectorized(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a, int from, int to, ref int nonFinite)
    {
        ref var p = ref MemoryMarshal.GetArrayDataReference(parameters);
        ref var g = ref MemoryMarshal.GetArrayDataReference(gradients);
        ref var mr = ref MemoryMarshal.GetArrayDataReference(m);
        ref var vr = ref MemoryMarshal.GetArrayDataReference(v);
        var (b1, b2) = (Vector256.Create(a.Beta1), Vector256.Create(a.Beta2));
        var (ob1, ob2) = (Vector256.Create(1f - a.Beta1), Vector256.Create(1f - a.Beta2));
        var (lr, eps, decay, keep) = (Vector256.Create(a.StepSize), Vector256.Create(a.Epsilon), Vector256.Create(a.Decay), Vector256.Create(1f - a.Decay));
        var finite = true;
        var i = from;
        for (; i + 8 <= to; i += 8)
        {
            var at = (nuint)i;
            var gi = Vector256.LoadUnsafe(ref g, at);
            var pi = Vector256.LoadUnsafe(ref p, at);
            Vector256<float> mi;
            switch (a.Kind)
            {
                case OptimizerKind.Sgd:
                    gi += decay * pi;
                    mi = b1 * Vector256.LoadUnsafe(ref mr, at) + gi;
                    pi -= lr * (gi + b1 * mi);
                    break;
                default:
                    if (a.Kind == OptimizerKind.AdamW)
                        pi *= keep;
                    else if (a.Decay != 0f)
                        gi += decay * pi;
                    mi = b1 * Vector256.LoadUnsafe(ref mr, at) + ob1 * gi;
                    var vi = b2 * Vector256.LoadUnsafe(ref vr, at) + ob2 * gi * gi;
                    vi.StoreUnsafe(ref vr, at);
                    pi -= lr * mi / (Vector256.Sqrt(vi) + eps);
                    break;
            }
            mi.StoreUnsafe(ref mr, at);
            pi.StoreUnsafe(ref p, at);
            // p - p is 0 for every finite p, NaN for NaN and infinities.
            finite &= Vector256.EqualsAll(pi - pi, Vector256<float>.Zero);
        }
        if (!finite)
            nonFinite = 1;
        return i;
    }

    /// <summary><see cref="WeightAverageKernels.Update"/> on the host: eight elements a step, chunks in parallel.</summary>
    public static void Average(float[] parameters, float[] average, float weight, int parallelism)
    {
        if (average.Length != parameters.Length)
            throw new ArgumentException($"the average needs {parameters.Length} floats, not {average.Length}");
        WorkerTeam.For((parameters.Length + Chunk - 1) / Chunk, parallelism, c =>
        {
            var (from, to) = (c * Chunk, Math.Min(parameters.Length, (c + 1) * Chunk));
            var i = from;
            if (Vector256.IsHardwareAccelerated)
            {
                var w = Vector256.Create(weight);
                for (; i + 8 <= to; i += 8)
                {
                    var a = Vector256.Create<float>(average.AsSpan(i));
                    (a + w * (Vector256.Create<float>(parameters.AsSpan(i)) - a)).CopyTo(average.AsSpan(i));
                }
            }
            for (; i < to; i++)
                average[i] = WeightAverageKernels.Apply(average[i], parameters[i], weight);
        });
    }
}
