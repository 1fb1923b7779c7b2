using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="LeakyReluKernels"/> on the host, eight lanes at a time, in chunks on every core: the same bits.</summary>
internal sealed class SimdLeakyRelu : SimdLayer
{
    private const int Chunk = 1 << 15;

    public override LayerKind Kind => LayerKinds.LeakyRelu;

    public override void Forward(SimdOp o) => Chunks(o, (start, count) => Forward(o.Input.AsSpan(start, count), o.Output.AsSpan(start, count), Slope(o)));

    public override void Backward(SimdOp o) =>
        Chunks(o, (start, count) => Backward(o.Output.AsSpan(start, count), o.Gradient.AsSpan(start, count), o.InputGradient!.AsSpan(start, count), Slope(o)));

    private static float Slope(SimdOp o) => o.Op.Layer.Definition.Slope;

    private static void Chunks(SimdOp o, Action<int, int> body) =>
        WorkerTeam.For((o.Length + Chunk - 1) / Chunk, o.Parallelism, c => body(c * Chunk, Math.Min(Chunk, o.Length - c * Chunk)));

    public static void Forward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            ref var xr = ref MemoryMarshal.GetReference(x);
            ref var yr = ref MemoryMarshal.GetReference(y);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, s * v).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
            y[i] = LeakyReluKernels.Of(x[i], slope);
    }

    /// <summary>dx = y &gt; 0 ? dy : slope·dy, with y the layer's output (see <see cref="LeakyReluKernels.Backward"/>).</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float slope)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            ref var yr = ref MemoryMarshal.GetReference(y);
            ref var dyr = ref MemoryMarshal.GetReference(dy);
            ref var dxr = ref MemoryMarshal.GetReference(dx);
            for (; i + 8 <= y.Length; i += 8)
            {
                var g = Vector256.LoadUnsafe(ref dyr, (nuint)i);
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256<float>.Zero), g, s * g).StoreUnsafe(ref dxr, (nuint)i);
            }
        }
        for (; i < y.Length; i++)
            dx[i] = y[i] > 0f ? dy[i] : slope * dy[i];
    }
}
