using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="Kernels.ActivationKernels"/> on the host, eight lanes at a time.</summary>
public static class SimdRelu
{
    /// <summary>y = <see cref="NanRule.Relu"/>(x): NaN stays NaN.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var xr = ref MemoryMarshal.GetReference(x);
            ref var yr = ref MemoryMarshal.GetReference(y);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
            y[i] = NanRule.Relu(x[i]);
    }

    /// <summary>dx = y &gt; 0 ? dy : 0, with y the ReLU's output (dx may be dy).</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (var i = 0; i < y.Length; i++)
            dx[i] = y[i] > 0f ? dy[i] : 0f;
    }
}
