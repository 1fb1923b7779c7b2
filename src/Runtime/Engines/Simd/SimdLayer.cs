using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// A layer kind on the SIMD engine: the buffers its op keeps beyond its output and gradient, and its forward and
/// backward. Each kind's implementation sits in that kind's Simd*.cs file; the engine finds them all by reflection, and
/// refuses a model with a kind that has none.
/// </summary>
internal abstract class SimdLayer : ILayerImplementation
{
    public abstract LayerKind Kind { get; }

    public virtual bool IsFusion => false;

    /// <summary>Lengths of the pooling indices, saved statistics and scratch an op of this kind needs.</summary>
    public virtual (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) => (0, 0, 0);

    public abstract void Forward(SimdOp o);

    public abstract void Backward(SimdOp o);

    private static readonly LayerImplementations<SimdLayer> Implementations = new("SIMD engine", "--device cpu or cuda");

    /// <summary>The implementation that runs <paramref name="op"/>: the conv block's, or its layer kind's.</summary>
    public static SimdLayer For(Op op) => Implementations.For(op);

    /// <summary>The kinds the SIMD engine implements.</summary>
    public static IReadOnlyCollection<LayerKind> Kinds => Implementations.Kinds;
}

/// <summary>One op of the SIMD engine: its buffers, and what the step under way gives it.</summary>
internal sealed class SimdOp(Op op, float[] parameters, float[] gradients)
{
    public Op Op { get; } = op;
    public required float[] Output { get; init; }
    public required float[] Gradient { get; init; }
    public int[] Argmax { get; init; } = [];
    public float[] Saved { get; init; } = [];
    public float[] Scratch { get; init; } = [];

    public float[] Parameters => parameters;
    public float[] Gradients => gradients;

    // Set for each call.
    public int Batch { get; set; }
    public float[] Input { get; set; } = [];
    public float[]? InputGradient { get; set; }
    public DropoutParameters Dropout { get; set; }
    public bool Training { get; set; }
    public int Parallelism { get; set; }

    /// <summary>Elements of the output for this batch.</summary>
    public int Length => Batch * Op.Output.Size;

    public int Offset(string suffix) => Op.Layer.Parameter(suffix).Offset;
    public ReadOnlyMemory<float> Parameter(string suffix) => parameters.AsMemory(Offset(suffix), Op.Layer.Parameter(suffix).Length);
    public Span<float> GradientOf(string suffix) => gradients.AsSpan(Offset(suffix), Op.Layer.Parameter(suffix).Length);
}
