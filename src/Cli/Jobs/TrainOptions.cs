using FashionGpu.Runtime.Devices;

namespace FashionGpu.Cli.Jobs;

/// <summary>`fashiongpu train`'s options: bound from configuration (section Train), then overridden by flags.</summary>
public sealed class TrainOptions
{
    public string? DataDir { get; set; }
    public string Device { get; set; } = "auto";
    public int Epochs { get; set; } = 3;
    public int BatchSize { get; set; } = 32;
    public double LearningRate { get; set; } = 0.001;
    public double ValidationSplit { get; set; } = 0.2;
    public ulong Seed { get; set; } = 42;
    public bool Normalize { get; set; }
    public int? LimitTrain { get; set; }
    public string? RunDir { get; set; }
    public string? Resume { get; set; }
    public bool Json { get; set; }
    /// <summary>Set only by --epochs on the command line (a resumed run keeps its own count otherwise).</summary>
    public bool EpochsFromFlag { get; set; }

    public void Validate()
    {
        if (Epochs < 1)
            throw new UsageException($"--epochs must be at least 1 (got {Epochs})");
        if (BatchSize < 1 || BatchSize > 4096)
            throw new UsageException($"--batch-size must be between 1 and 4096 (got {BatchSize})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new UsageException($"--learning-rate must be a positive number (got {LearningRate})");
        if (!(ValidationSplit >= 0 && ValidationSplit < 1))
            throw new UsageException($"--validation-split must be in [0, 1) (got {ValidationSplit})");
        if (LimitTrain is < 1)
            throw new UsageException($"--limit-train must be at least 1 (got {LimitTrain})");
        if (!DeviceSpec.TryParse(Device, out _, out var error))
            throw new UsageException(error);
    }
}

/// <summary>`fashiongpu evaluate`'s options (configuration section Evaluate, then flags).</summary>
public sealed class EvaluateOptions
{
    public string? Run { get; set; }
    public string? Checkpoint { get; set; }
    public string? DataDir { get; set; }
    public string Device { get; set; } = "auto";
    public string? Output { get; set; }
    public bool Json { get; set; }

    /// <summary>Which checkpoint is checked by <see cref="ChosenCheckpoint"/>.</summary>
    public void Validate()
    {
        if (!DeviceSpec.TryParse(Device, out _, out var error))
            throw new UsageException(error);
    }
}
