using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="AdamKernels.Update"/> on the host: eight elements a step, chunks of the buffer in parallel.</summary>
public static class SimdAdam
{
    private const int Chunk = 1 << 14;

    /// <summary>One step over the whole buffer; returns whether a parameter became NaN or infinite.</summary>
    public static bool Update(float[] parameters, float[] gradients, float[] m, float[] v, AdamParameters a, ParallelOptions options)
    {
        var nonFinite = 0;
        var total = parameters.Length;
        if (gradients.Length != total || m.Length != total || v.Length != total)
            throw new ArgumentException($"Adam needs four buffers of {total} floats");
        Parallel.For(0, (total + Chunk - 1) / Chunk, options, c =>
        {
            var (begin, end) = (c * Chunk, Math.Min(total, (c + 1) * Chunk));
            var i = begin;
            if (Vector256.IsHardwareAccelerated)
            {
                ref var p = ref MemoryMarshal.GetArrayDataReference(parameters);
                ref var g = ref MemoryMarshal.GetArrayDataReference(gradients);
                ref var mr = ref MemoryMarshal.GetArrayDataReference(m);
                ref var vr = ref MemoryMarshal.GetArrayDataReference(v);
                var (b1, b2) = (Vector256.Create(a.Beta1), Vector256.Create(a.Beta2));
                var (ob1, ob2) = (Vector256.Create(1f - a.Beta1), Vector256.Create(1f - a.Beta2));
                var (lr, eps) = (Vector256.Create(a.StepSize), Vector256.Create(a.Epsilon));
                for (; i + 8 <= end; i += 8)
                {
                    var at = (nuint)i;
                    var gi = Vector256.LoadUnsafe(ref g, at);
                    var mi = b1 * Vector256.LoadUnsafe(ref mr, at) + ob1 * gi;
                    var vi = b2 * Vector256.LoadUnsafe(ref vr, at) + ob2 * gi * gi;
                    mi.StoreUnsafe(ref mr, at);
                    vi.StoreUnsafe(ref vr, at);
                    var pi = Vector256.LoadUnsafe(ref p, at) - lr * mi / (Vector256.Sqrt(vi) + eps);
                    pi.StoreUnsafe(ref p, at);
                    // p - p is 0 for every finite p, NaN for NaN and infinities.
                    if (!Vector256.EqualsAll(pi - pi, Vector256<float>.Zero))
                        nonFinite = 1;
                }
            }
            for (; i < end; i++)
            {
                a.Apply(gradients[i], ref m[i], ref v[i], ref parameters[i]);
                if (!float.IsFinite(parameters[i]))
                    nonFinite = 1;
            }
        });
        return nonFinite != 0;
    }
}
