using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>
/// One step of a program: layers [First, Last] of the plan, run as its first layer's <see cref="Kind"/>, with the
/// fusions the engines share: a conv block (<see cref="Block"/>: conv2d (valid) + ReLU + 2x2 max-pool (+ dropout) as the
/// first trained layer, with no input gradient), a conv2d that max-pools its output (<see cref="Pool"/>), and a dense
/// layer or a batchnorm with its ReLU (<see cref="Relu"/>). Its input is the previous op's output (flatten changes no
/// data, so it is no op at all). <see cref="Trains"/>: backward runs through it; <see cref="NeedsInputGradient"/>: it
/// passes a gradient on to the op below.
/// </summary>
public sealed record Op(LayerKind Kind, PlannedLayer Layer, int First, int Last, TensorShape Input, TensorShape Output,
    bool Relu, int DropoutOrdinal, float DropoutRate, bool Trains, bool NeedsInputGradient)
{
    /// <summary>The conv block: conv2d + ReLU + max-pool (+ dropout) in one op.</summary>
    public bool Block { get; init; }

    /// <summary>A conv2d op that max-pools its output: the full-size convolution output never leaves the op.</summary>
    public bool Pool { get; init; }

    public bool HasDropout => DropoutOrdinal >= 0;

    /// <summary>How profiles and bench name the op: conv1, bn2, dense1 (+relu), or the kind and layer number.</summary>
    public string Name => (Layer.Name ?? $"{Layer.Definition.Type}{First + 1}") + (Block ? " block" : Relu ? "+relu" : Pool ? "+pool" : "");

    /// <summary>FLOPs of one image through the op's forward pass.</summary>
    public long ForwardFlops { get; init; }

    /// <summary>
    /// FLOPs of one image through its backward pass: the weight gradient costs a forward pass, the input gradient
    /// (when needed) another; parameter-free ops about as much as their forward.
    /// </summary>
    public long BackwardFlops => Kind.BackwardFlops(ForwardFlops, NeedsInputGradient);

    /// <summary>The convolution of a conv2d op or conv block for a batch.</summary>
    public Kernels.ConvShape Conv(int batch) =>
        new(batch, Input.Channels, Layer.Output.Channels, Input.Height, Input.Width, Layer.Definition.Kernel,
            Layer.Definition.SamePadding ? Layer.Definition.Kernel / 2 : 0);

    /// <summary>A batchnorm op over [batch, channels, H·W] (H·W = 1 after a dense layer).</summary>
    public Kernels.BatchNormShape Norm(int batch) => new(batch, Input.Channels, Input.Spatial);

    /// <summary>The 2x2 window of a pooling op (maxpool, avgpool), or of a conv2d op's output when it pools, for a batch.</summary>
    public Kernels.PoolShape Pooling(int batch)
    {
        var pooled = Pool || Block ? Layer.Output : Input;
        return new(batch, pooled.Channels, pooled.Height, pooled.Width);
    }

    /// <summary>A dense op for a batch.</summary>
    public Kernels.DenseShape Dense(int batch) => new(batch, Input.Size, Output.Size);
}

/// <summary>
/// A <see cref="ModelPlan"/> as the ops both engines run: the same fusions everywhere (conv + ReLU + pool + dropout
/// where it opens the model, conv + pool, dense + ReLU, batchnorm + ReLU), every other layer on its own, run by its
/// kind's implementation in each engine.
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
        Op Make(int first, int last, bool relu = false, int dropoutOrdinal = -1, float rate = 0) =>
            new(layers[first].Kind, layers[first], first, last, layers[first].Input, layers[last].Output, relu, dropoutOrdinal, rate,
                Trains: last >= firstTrained, NeedsInputGradient: first > firstTrained)
            {
                ForwardFlops = layers.Skip(first).Take(last - first + 1).Sum(l => l.ForwardFlops),
            };
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            LayerKind? Next(int k) => i + k < layers.Count ? layers[i + k].Kind : null;
            if (l.Kind == LayerKinds.Conv2d && !l.Definition.SamePadding && i == firstTrained && Next(1) == LayerKinds.Relu && Next(2) == LayerKinds.MaxPool)
            {
                var last = Next(3) == LayerKinds.Dropout ? i + 3 : i + 2;
                ops.Add((last == i + 3 ? Make(i, last, dropoutOrdinal: dropouts++, rate: layers[last].Definition.Rate) : Make(i, last)) with { Block = true });
                i = last;
            }
            else if (l.Kind == LayerKinds.Conv2d && Next(1) == LayerKinds.MaxPool)
                ops.Add(Make(i, ++i) with { Pool = true });
            else if ((l.Kind == LayerKinds.Dense || l.Kind == LayerKinds.BatchNorm) && Next(1) == LayerKinds.Relu)
                ops.Add(Make(i, ++i, relu: true));
            else if (!l.Kind.MovesData)
                continue;
            else if (l.Kind == LayerKinds.Dropout)
                ops.Add(Make(i, i, dropoutOrdinal: dropouts++, rate: l.Definition.Rate));
            else
                ops.Add(Make(i, i));
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
