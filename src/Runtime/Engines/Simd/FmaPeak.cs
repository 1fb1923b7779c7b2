using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The cores' measured arithmetic peak for the SIMD engine's instructions: every core at once runs twelve independent
/// chains of fused multiply-adds (enough to cover the FMA latency on both pipes) on the widest vectors the engine's
/// product tiles use, so GEMM figures can be stated as a share of what the machine actually sustains at that width
/// rather than of a data-sheet clock or of a narrower width the tiles exceed.
/// </summary>
public static class FmaPeak
{
    /// <summary>The width measured: 512 where the product tiles use 512-bit vectors, 256 where they use AVX2's, else 0.</summary>
    public static int VectorBits => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;

    public static string Description => VectorBits == 0 ? "none: no vector FMAs on this processor" : $"independent {VectorBits}-bit FMAs on every core";

    public static double MeasureGflops(int cores, double seconds = 0.2)
    {
        var bits = VectorBits;
        if (bits == 0)
            return double.NaN;
        Func<int, float> chains = bits == 512 ? Chains512 : Chains256;
        chains(1000);
        var rates = new double[cores];
        using var start = new Barrier(cores);
        var threads = Enumerable.Range(0, cores).Select(core => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            long iterations = 0;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                chains(100_000);
                iterations += 100_000;
            }
            // Twelve FMAs an iteration, two flops a lane.
            rates[core] = iterations * 12.0 * 2 * (bits / 32) / clock.Elapsed.TotalSeconds / 1e9;
        })).ToArray();
        foreach (var t in threads)
            t.Start();
        foreach (var t in threads)
            t.Join();
        return rates.Sum();
    }

    private static float Chains256(int iterations)
    {
        var (a, b) = (Vector256.Create(0.5f), Vector256.Create(0.999f));
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (var i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, b, a); c1 = Vector256.FusedMultiplyAdd(c1, b, a); c2 = Vector256.FusedMultiplyAdd(c2, b, a);
            c3 = Vector256.FusedMultiplyAdd(c3, b, a); c4 = Vector256.FusedMultiplyAdd(c4, b, a); c5 = Vector256.FusedMultiplyAdd(c5, b, a);
            c6 = Vector256.FusedMultiplyAdd(c6, b, a); c7 = Vector256.FusedMultiplyAdd(c7, b, a); c8 = Vector256.FusedMultiplyAdd(c8, b, a);
            c9 = Vector256.FusedMultiplyAdd(c9, b, a); c10 = Vector256.FusedMultiplyAdd(c10, b, a); c11 = Vector256.FusedMultiplyAdd(c11, b, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private static float Chains512(int iterations)
    {
        var (a, b) = (Vector512.Create(0.5f), Vector512.Create(0.999f));
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (var i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, b, a); c1 = Vector512.FusedMultiplyAdd(c1, b, a); c2 = Vector512.FusedMultiplyAdd(c2, b, a);
            c3 = Vector512.FusedMultiplyAdd(c3, b, a); c4 = Vector512.FusedMultiplyAdd(c4, b, a); c5 = Vector512.FusedMultiplyAdd(c5, b, a);
            c6 = Vector512.FusedMultiplyAdd(c6, b, a); c7 = Vector512.FusedMultiplyAdd(c7, b, a); c8 = Vector512.FusedMultiplyAdd(c8, b, a);
            c9 = Vector512.FusedMultiplyAdd(c9, b, a); c10 = Vector512.FusedMultiplyAdd(c10, b, a); c11 = Vector512.FusedMultiplyAdd(c11, b, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
