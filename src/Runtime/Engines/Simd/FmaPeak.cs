using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The cores' measured arithmetic peak for the SIMD engine's instructions: every core at once runs twelve independent
/// chains of 256-bit fused multiply-adds (enough to cover the FMA latency on both pipes), so GEMM figures can be
/// stated as a share of what the machine actually sustains rather than of a data-sheet clock.
/// </summary>
public static class FmaPeak
{
    public static double MeasureGflops(int cores, double seconds = 0.2)
    {
        if (!Vector256.IsHardwareAccelerated)
            return double.NaN;
        Chains(1000);
        var rates = new double[cores];
        using var start = new Barrier(cores);
        var threads = Enumerable.Range(0, cores).Select(core => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            long iterations = 0;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                Chains(100_000);
                iterations += 100_000;
            }
            rates[core] = iterations * 12.0 * 16 / clock.Elapsed.TotalSeconds / 1e9;
        })).ToArray();
        foreach (var t in threads)
            t.Start();
        foreach (var t in threads)
            t.Join();
        return rates.Sum();
    }

    private static float Chains(int iterations)
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
}
