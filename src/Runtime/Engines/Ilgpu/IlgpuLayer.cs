using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>
/// A layer kind on the ILGPU engine: the device buffers its op keeps beyond its output and gradient, and the kernel
/// launches of its forward and backward. Each kind's implementation has a file of its own in this folder; the engine
/// finds them by reflection and refuses a model with a kind that has none.
/// </summary>
internal abstract class IlgpuLayer : ILayerImplementation
{
    public abstract LayerKind Kind { get; }

    public virtual bool IsFusion => false;

    /// <summary>Lengths of the pooling indices, saved statistics and scratch an op of this kind needs.</summary>
    public virtual (long Argmax, long Saved, long Scratch) Buffers(Op op, int maxBatch, int trainBatch) => (0, 0, 0);

    public abstract void Forward(IlgpuOp o);

    public abstract void Backward(IlgpuOp o);

    private static readonly LayerImplementations<IlgpuLayer> Implementations = new("ILGPU engine", "--device simd");

    /// <summary>The implementation that runs <paramref name="op"/>: the conv block's, or its layer kind's.</summary>
    public static IlgpuLayer For(Op op) => Implementations.For(op);

    /// <summary>The kinds the ILGPU engine implements.</summary>
    public static IReadOnlyCollection<LayerKind> Kinds => Implementations.Kinds;
}

/// <summary>One op of the ILGPU engine: its kernels and device buffers, and what the step under way gives it.</summary>
internal sealed class IlgpuOp(Op op, KernelSet kernels, Func<string, ArrayView<float>> parameter, Func<string, ArrayView<float>> gradient)
{
    public Op Op { get; } = op;
    public KernelSet Kernels { get; } = kernels;
    public required ArrayView<float> Output { get; init; }
    public required ArrayView<float> Gradient { get; init; }
    public ArrayView<int> Argmax { get; init; }
    public ArrayView<float> Saved { get; init; }
    public ArrayView<float> Scratch { get; init; }

    // Set for each call.
    public int Batch { get; set; }
    public ArrayView<float> Input { get; set; }
    public ArrayView<float>? InputGradient { get; set; }
    public DropoutParameters Dropout { get; set; }
    public bool Training { get; set; }

    /// <summary>Elements of the output for this batch.</summary>
    public long Length => (long)Batch * Op.Output.Size;

    /// <summary>The output for this batch (the buffer holds the largest batch).</summary>
    public ArrayView<float> BatchOutput => Output.SubView(0, Length);

    /// <summary>The output's gradient for this batch.</summary>
    public ArrayView<float> BatchGradient => Gradient.SubView(0, Length);

    public ArrayView<float> Parameter(string suffix) => parameter($"{Op.Layer.Name}.{suffix}");
    public ArrayView<float> GradientOf(string suffix) => gradient($"{Op.Layer.Name}.{suffix}");
}
