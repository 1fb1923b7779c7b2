using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>The optimizer hyperparameters and seed a training run is defined by (the reference recipe by default).</summary>
public sealed record TrainingSettings
{
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// Only in runs written before models were data (their pixel scale: true is [0, 1], false raw 0..255); the model
    /// definition's scale decides now.
    /// </summary>
    public bool? Normalize { get; init; }

    /// <summary>
    /// The mask of dropout layer <paramref name="ordinal"/> (0 for the model's first dropout layer) at optimizer step
    /// <paramref name="step"/> (1-based), the same on every engine. The first layer keeps the key the seed model always
    /// used; later ones derive theirs from it.
    /// </summary>
    public DropoutParameters DropoutAt(long step, int ordinal, float rate)
    {
        var key = CounterRng.Key(Seed, CounterRng.DropoutStream + (ulong)step);
        return new(ordinal == 0 ? key : CounterRng.Key(key, (ulong)ordinal), rate);
    }

    /// <summary>Adam's hyperparameters for step <paramref name="step"/> (1-based), bias correction folded in.</summary>
    public AdamParameters AdamAt(long step) => AdamParameters.ForStep(LearningRate, Beta1, Beta2, Epsilon, step);
}
