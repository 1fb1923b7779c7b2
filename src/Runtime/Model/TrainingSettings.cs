using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>The hyperparameters a training run is defined by (the reference recipe by default).</summary>
public sealed record TrainingSettings
{
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;
    public float DropoutRate { get; init; } = ModelArchitecture.DropoutRate;
    public ulong Seed { get; init; } = 42;
    /// <summary>Scale pixels to [0, 1]; off feeds raw 0..255 as the reference did.</summary>
    public bool Normalize { get; init; }

    public float PixelScale => Normalize ? 1f / 255f : 1f;

    /// <summary>The dropout mask of optimizer step <paramref name="step"/> (1-based), the same on every engine.</summary>
    public DropoutParameters DropoutAt(long step) =>
        new(CounterRng.Key(Seed, CounterRng.DropoutStream + (ulong)step), DropoutRate);

    /// <summary>Adam's hyperparameters for step <paramref name="step"/> (1-based), bias correction folded in.</summary>
    public AdamParameters AdamAt(long step) => AdamParameters.ForStep(LearningRate, Beta1, Beta2, Epsilon, step);
}
