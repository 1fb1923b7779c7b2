using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="Kernels.ActivationKernels"/> on the host, eight lanes at a time.</summary>
public static class SimdRelu
{
    /// <summary>
    /// <see cref="NanRule.Relu"/> on eight lanes. x86's max(a, b) is a &gt; b ? a : b, which is exactly that rule with
    /// a = 0 (a NaN or −0 v is kept), in one instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Of(Vector256<float> v) =>
        Avx.IsSupported ? Avx.Max(Vector256<float>.Zero, v) : Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);

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
                Of(Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
            y[i] = NanRule.Relu(x[i]);
    }

    /// <summary>What the ReLU's backward passes down, on eight lanes: dy where its output y is positive, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Through(Vector256<float> dy, Vector256<float> y) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), dy, Vector256<float>.Zero);

    /// <summary><see cref="Through(Vector256{float}, Vector256{float})"/> on one value.</summary>
    internal static float Through(float dy, float y) => y > 0f ? dy : 0f;

    /// <summary>dx = y &gt; 0 ? dy : 0, with y the ReLU's output (dx may be dy).</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var yr = ref MemoryMarshal.GetReference(y);
            ref var dyr = ref MemoryMarshal.GetReference(dy);
            ref var dxr = ref MemoryMarshal.GetReference(dx);
            for (; i + 8 <= y.Length; i += 8)
                Through(Vector256.LoadUnsafe(ref dyr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref dxr, (nuint)i);
        }
        for (; i < y.Length; i++)
            dx[i] = Through(dy[i], y[i]);
    }

    private const int Chunk = 1 << 15;

    /// <summary><see cref="Forward(ReadOnlySpan{float}, Span{float})"/> over the first <paramref name="length"/> elements, in chunks on every core.</summary>
    public static void Forward(float[] x, float[] y, int length, int parallelism) =>
        WorkerTeam.For((length + Chunk - 1) / Chunk, parallelism, c =>
        {
            var (start, count) = (c * Chunk, Math.Min(Chunk, length - c * Chunk));
            Forward(x.AsSpan(start, count), y.AsSpan(start, count));
        });

    /// <summary><see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> in chunks on every core.</summary>
    public static void Backward(float[] y, float[] dy, float[] dx, int length, int parallelism) =>
        WorkerTeam.For((length + Chunk - 1) / Chunk, parallelism, c =>
        {
            var (start, count) = (c * Chunk, Math.Min(Chunk, length - c * Chunk));
            Backward(y.AsSpan(start, count), dy.AsSpan(start, count), dx.AsSpan(start, count));
        });
}

internal sealed class SimdReluLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.Relu;
    public override void Forward(SimdOp o) => SimdRelu.Forward(o.Input, o.Output, o.Length, o.Parallelism);
    public override void Backward(SimdOp o) => SimdRelu.Backward(o.Output, o.Gradient, o.InputGradient!, o.Length, o.Parallelism);
}
