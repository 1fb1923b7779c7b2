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
        Func<int, float> chains = bits == 512 ? Chains<Vector512<float>, Lanes512> : Chains<Vector256<float>, Lanes256>;
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

    /// <summary>
    /// Twelve chains of <paramref name="iterations"/> dependent FMAs each; the result depends on every chain, so none is
    /// left out.
    /// </summary>
    private static float Chains<TVector, TLanes>(int iterations)
        where TVector : struct
        where TLanes : struct, ILanes<TVector>
    {
        var (a, b) = (TLanes.Broadcast(0.5f), TLanes.Broadcast(0.999f));
        TVector c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (var i = 0; i < iterations; i++)
        {
            c0 = TLanes.MultiplyAdd(c0, b, a); c1 = TLanes.MultiplyAdd(c1, b, a); c2 = TLanes.MultiplyAdd(c2, b, a);
            c3 = TLanes.MultiplyAdd(c3, b, a); c4 = TLanes.MultiplyAdd(c4, b, a); c5 = TLanes.MultiplyAdd(c5, b, a);
            c6 = TLanes.MultiplyAdd(c6, b, a); c7 = TLanes.MultiplyAdd(c7, b, a); c8 = TLanes.MultiplyAdd(c8, b, a);
            c9 = TLanes.MultiplyAdd(c9, b, a); c10 = TLanes.MultiplyAdd(c10, b, a); c11 = TLanes.MultiplyAdd(c11, b, a);
        }
        c0 = TLanes.MultiplyAdd(c0, b, c1); c2 = TLanes.MultiplyAdd(c2, b, c3); c4 = TLanes.MultiplyAdd(c4, b, c5);
        c6 = TLanes.MultiplyAdd(c6, b, c7); c8 = TLanes.MultiplyAdd(c8, b, c9); c10 = TLanes.MultiplyAdd(c10, b, c11);
        c0 = TLanes.MultiplyAdd(c0, b, c2); c4 = TLanes.MultiplyAdd(c4, b, c6); c8 = TLanes.MultiplyAdd(c8, b, c10);
        c0 = TLanes.MultiplyAdd(TLanes.MultiplyAdd(c0, b, c4), b, c8);
        var lanes = new float[TLanes.Count];
        TLanes.Store(c0, ref lanes[0], 0);
        return lanes[0];
    }
}
