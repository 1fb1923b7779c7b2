using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>What one step of an <see cref="EngineProgram"/> computes.</summary>
public enum OpKind
{
    /// <summary>conv2d (valid) + ReLU + 2x2 max-pool (+ dropout) fused, as the first trained layer: no input gradient.</summary>
    ConvBlock,
    /// <summary>conv2d, with the 2x2 max-pool after it fused when <see cref="Op.Pool"/>.</summary>
    Conv2d,
    BatchNorm,
    Relu,
    MaxPool,
    Dropout,
    GlobalAvgPool,
    /// <summary>dense, with the ReLU after it fused when <see cref="Op.Relu"/>.</summary>
    Dense,
}

/// <summary>
/// One step of a program: layers [First, Last] of the plan. Its input is the previous op's output (flatten changes no
/// data, so it is no op at all). <see cref="Trains"/>: backward runs through it; <see cref="NeedsInputGradient"/>: it
/// passes a gradient on to the op below.
/// </summary>
public sealed record Op(OpKind Kind, PlannedLayer Layer, int First, int Last, TensorShape Input, TensorShape Output,
    bool Relu, int DropoutOrdinal, float DropoutRate, bool Trains, bool NeedsInputGradient)
{
    /// <summary>A conv2d op that max-pools its output: the full-size convolution output never leaves the op.</summary>
    public bool Pool { get; init; }

    public bool HasDropout => Kind is OpKind.Dropout || (Kind is OpKind.ConvBlock && DropoutOrdinal >= 0);

    /// <summary>How profiles and bench name the op: conv1, bn2, dense1 (+relu), or the kind and layer number.</summary>
    public string Name => (Layer.Name ?? $"{Layer.Definition.Type}{First + 1}") + (Kind == OpKind.ConvBlock ? " block" : Relu ? "+relu" : Pool ? "+pool" : "");

    /// <summary>FLOPs of one image through the op's forward pass.</summary>
    public long ForwardFlops { get; init; }

    /// <summary>
    /// FLOPs of one image through its backward pass: the weight gradient costs a forward pass, the input gradient
    /// (when needed) another; parameter-free ops about as much as their forward.
    /// </summary>
    public long BackwardFlops => Kind is OpKind.Conv2d or OpKind.Dense or OpKind.ConvBlock
        ? ForwardFlops * (NeedsInputGradient ? 2 : 1) : ForwardFlops;

    /// <summary>The convolution of a conv2d op or conv block for a batch.</summary>
    public Kernels.ConvShape Conv(int batch) =>
        new(batch, Input.Channels, Layer.Output.Channels, Input.Height, Input.Width, Layer.Definition.Kernel,
            Layer.Definition.SamePadding ? Layer.Definition.Kernel / 2 : 0);

    /// <summary>A batchnorm op over [batch, channels, H·W] (H·W = 1 after a dense layer).</summary>
    public Kernels.BatchNormShape Norm(int batch) => new(batch, Input.Channels, Input.Spatial);

    /// <summary>The 2x2 max-pool of a max-pool op, or of a conv2d op's output when it pools, for a batch.</summary>
    public Kernels.PoolShape Pooling(int batch)
    {
        var pooled = Kind == OpKind.Conv2d ? Layer.Output : Input;
        return new(batch, pooled.Channels, pooled.Height, pooled.Width);
    }

    /// <summary>A dense op for a batch.</summary>
    public Kernels.DenseShape Dense(int batch) => new(batch, Input.Size, Output.Size);
}

/// <summary>
/// A <see cref="ModelPlan"/> as the ops both engines run: the same fusions everywhere (conv + ReLU + pool + dropout
/// where it opens the model, conv + pool, dense + ReLU), every other layer on its own. Adding a layer kind means a case
/// here and one implementation per engine.
/// </summary>
public sealed class EngineProgram
{
    public EngineProgram(ModelPlan plan)
    {
        Plan = plan;
        var layers = plan.Layers;
        var firstTrained = plan.FirstTrainedLayer;
        var ops = new List<Op>();
        var dropouts = 0;
        Op Make(OpKind kind, int first, int last, bool relu = false, int dropoutOrdinal = -1, float rate = 0) =>
            new(kind, layers[first], first, last, layers[first].Input, layers[last].Output, relu, dropoutOrdinal, rate,
                Trains: last >= firstTrained, NeedsInputGradient: first > firstTrained)
            {
                ForwardFlops = layers.Skip(first).Take(last - first + 1).Sum(l => l.ForwardFlops),
            };
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            LayerKind? Next(int k) => i + k < layers.Count ? layers[i + k].Kind : null;
            switch (l.Kind)
            {
                case LayerKind.Conv2d when !l.Definition.SamePadding && i == firstTrained && Next(1) == LayerKind.Relu && Next(2) == LayerKind.MaxPool:
                    if (Next(3) == LayerKind.Dropout)
                    {
                        ops.Add(Make(OpKind.ConvBlock, i, i + 3, dropoutOrdinal: dropouts++, rate: layers[i + 3].Definition.Rate));
                        i += 3;
                    }
                    else
                    {
                        ops.Add(Make(OpKind.ConvBlock, i, i + 2));
                        i += 2;
                    }
                    break;
                case LayerKind.Conv2d when Next(1) == LayerKind.MaxPool:
                    ops.Add(Make(OpKind.Conv2d, i, i + 1) with { Pool = true });
                    i++;
                    break;
                case LayerKind.Dense when Next(1) == LayerKind.Relu:
                    ops.Add(Make(OpKind.Dense, i, i + 1, relu: true));
                    i++;
                    break;
                case LayerKind.Flatten:
                    break;
                case LayerKind.Dropout:
                    ops.Add(Make(OpKind.Dropout, i, i, dropoutOrdinal: dropouts++, rate: l.Definition.Rate));
                    break;
                default:
                    ops.Add(Make(l.Kind switch
                    {
                        LayerKind.Conv2d => OpKind.Conv2d,
                        LayerKind.BatchNorm => OpKind.BatchNorm,
                        LayerKind.Relu => OpKind.Relu,
                        LayerKind.MaxPool => OpKind.MaxPool,
                        LayerKind.GlobalAvgPool => OpKind.GlobalAvgPool,
                        LayerKind.Dense => OpKind.Dense,
                        _ => throw new InvalidOperationException($"no op for {l.Kind}"),
                    }, i, i));
                    break;
            }
        }
        Ops = ops;
    }

    public ModelPlan Plan { get; }
    public IReadOnlyList<Op> Ops { get; }

    /// <summary>The op whose output is the output of layer <paramref name="layer"/> (a flatten shares its input's), or -1 for the input.</summary>
    public int OpProducing(int layer)
    {
        if (Ops.Any(op => op.First <= layer && layer < op.Last))
            throw new ArgumentException($"layer {layer}'s output is inside a fused op");
        // Every layer after the last op that ends at or before it is a flatten, which changes no data.
        for (var i = Ops.Count - 1; i >= 0; i--)
            if (Ops[i].Last <= layer)
                return i;
        return -1;
    }
}
