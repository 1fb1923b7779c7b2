using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;

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
    /// <summary>A built-in model (<see cref="ModelPresets"/>); the default is seed.</summary>
    public string? Model { get; set; }
    /// <summary>A model definition file (JSON), instead of a preset.</summary>
    public string? ModelFile { get; set; }
    public int? Filters { get; set; }
    public int? Hidden { get; set; }
    public double? Dropout { get; set; }
    /// <summary>scaled ([0, 1]) or raw (0..255); null keeps the model's own scale.</summary>
    public string? Pixels { get; set; }
    /// <summary>Accepted for old scripts: the same as --pixels scaled.</summary>
    public bool Normalize { get; set; }
    public bool ListModels { get; set; }
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
        if (Filters is < 1 or > 4096)
            throw new UsageException($"--filters must be between 1 and 4096 (got {Filters})");
        if (Hidden is < 1 or > 65536)
            throw new UsageException($"--hidden must be between 1 and 65536 (got {Hidden})");
        if (Dropout is { } d && !(d >= 0 && d < 1))
            throw new UsageException($"--dropout must be in [0, 1) (got {d})");
        if (Pixels is not (null or "scaled" or "raw"))
            throw new UsageException($"--pixels must be scaled or raw (got {Pixels})");
        if (Normalize && Pixels == "raw")
            throw new UsageException("--normalize means --pixels scaled; drop one of --normalize and --pixels raw");
    }

    /// <summary>True when a flag chose or changed the model (a resumed run keeps its own).</summary>
    public bool ShapesModel => Model is not null || ModelFile is not null || Filters is not null || Hidden is not null || Dropout is not null || Pixels is not null;

    /// <summary>The model these options name: a preset or a file, with the seed's knobs and the pixel scale applied.</summary>
    public ModelPlan ResolveModel() => new ModelChoice(Model, ModelFile, Filters, Hidden, Dropout,
        Pixels == "raw" ? 1f : Pixels == "scaled" || Normalize ? ModelDefinition.ScaledPixels : null).Resolve();
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
