using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// Inverted dropout with <see cref="DropoutParameters.Keeps"/>'s mask drawn eight elements at a time: the same
/// SplitMix64 finaliser on 64-bit lanes, and u ≥ rate tested as an integer compare of the top 24 bits against
/// ceil(rate·2²⁴), which is exact because u = bits·2⁻²⁴.
/// </summary>
public static class SimdDropout
{
    private const ulong Golden = CounterRng.Golden;

    /// <summary>values[i] = kept(firstElement + i) ? values[i]·scale : 0.</summary>
    public static void Apply(Span<float> values, int firstElement, DropoutParameters p)
    {
        if (p.Rate > 0f)
            Apply(values, values, firstElement, p);
    }

    /// <summary>
    /// target[i] = kept(i) ? source[i]·scale : 0 for the first <paramref name="length"/> elements, in parallel chunks
    /// (each element's draw depends only on its index, so the bits do not depend on the core count).
    /// </summary>
    public static void Apply(float[] source, float[] target, int length, DropoutParameters p, int parallelism)
    {
        if (p.Rate <= 0f)
        {
            source.AsSpan(0, length).CopyTo(target);
            return;
        }
        const int chunk = 8192;
        WorkerTeam.For((length + chunk - 1) / chunk, parallelism, c =>
        {
            var (begin, count) = (c * chunk, Math.Min(chunk, length - c * chunk));
            Apply(source.AsSpan(begin, count), target.AsSpan(begin, count), begin, p);
        });
    }

    private static void Apply(ReadOnlySpan<float> source, Span<float> target, int firstElement, DropoutParameters p)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var x = ref MemoryMarshal.GetReference(source);
            ref var y = ref MemoryMarshal.GetReference(target);
            var (threshold, scale) = (Threshold(p), Vector256.Create(p.Scale));
            // The hash inputs key + (counter + 1)·golden of elements first..first+3 and first+4..first+7, stepped by
            // eight counters (8·golden) at a time: the same sums modulo 2^64 as multiplying each counter out.
            var low = Vector256.Create(p.Key) + Vector256.Create(1UL, 2, 3, 4) * Golden + Vector256.Create((ulong)firstElement * Golden);
            var high = low + Vector256.Create(unchecked(4 * Golden));
            var step = Vector256.Create(unchecked(8 * Golden));
            for (; i + 8 <= source.Length; i += 8, low += step, high += step)
            {
                var kept = Keeps(low, high, threshold);
                Vector256.ConditionalSelect(kept, Vector256.LoadUnsafe(ref x, (nuint)i) * scale, Vector256<float>.Zero)
                    .StoreUnsafe(ref y, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
            target[i] = p.Keeps(firstElement + i) ? source[i] * p.Scale : 0f;
    }

    /// <summary>u ≥ rate as the top 24 bits of the hash ≥ ceil(rate·2²⁴).</summary>
    private static Vector256<ulong> Threshold(DropoutParameters p) => Vector256.Create((ulong)Math.Ceiling(p.Rate * 16777216.0));

    /// <summary>All-ones lanes where the eight elements whose hash inputs are <paramref name="low"/> and <paramref name="high"/> are kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Keeps(Vector256<ulong> low, Vector256<ulong> high, Vector256<ulong> threshold)
    {
        var keepLow = Vector256.GreaterThanOrEqual(Mix(low) >>> 40, threshold);
        var keepHigh = Vector256.GreaterThanOrEqual(Mix(high) >>> 40, threshold);
        return Vector256.Narrow(keepLow, keepHigh).AsSingle();
    }

    /// <summary><see cref="CounterRng.Mix"/> on four lanes.</summary>
    private static Vector256<ulong> Mix(Vector256<ulong> x)
    {
        x ^= x >>> 30;
        x *= Vector256.Create(0xBF58476D1CE4E5B9UL);
        x ^= x >>> 27;
        x *= Vector256.Create(0x94D049BB133111EBUL);
        x ^= x >>> 31;
        return x;
    }
}

internal sealed class SimdDropoutLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.Dropout;
    public override void Forward(SimdOp o) => SimdDropout.Apply(o.Input, o.Output, o.Length, o.Dropout, o.Parallelism);
    public override void Backward(SimdOp o) => SimdDropout.Apply(o.Gradient, o.InputGradient!, o.Length, o.Dropout, o.Parallelism);
}
