using System.Text.Json;
using System.Text.Json.Serialization;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>What a run was asked to do: enough to repeat it, or to continue it.</summary>
public sealed record RunConfiguration
{
    /// <summary>The model trained (null only in runs written before models were data: they trained the seed model).</summary>
    public ModelDefinition? Model { get; init; }
    public TrainingSettings Settings { get; init; } = new();
    public int Epochs { get; init; } = 3;
    public double ValidationSplit { get; init; } = 0.2;
    public int? LimitTrain { get; init; }
    public string DataDirectory { get; init; } = "";
    public string DataOrigin { get; init; } = "";
    public string DataVerification { get; init; } = "";
    public string TrainPixelsSha256 { get; init; } = "";
    public string TrainLabelsSha256 { get; init; } = "";
    public string Device { get; init; } = "";
}

/// <summary>
/// Where training stood when a checkpoint was written. Every random draw is a function of the seed and a counter
/// (shuffle: epoch; dropout: optimizer step), so (seed, epoch, position, step) is the whole RNG state.
/// </summary>
public sealed record CheckpointInfo
{
    public const string FormatName = "fashiongpu-checkpoint-1";

    public string Format { get; init; } = FormatName;
    /// <summary>Epochs completed.</summary>
    public int Epoch { get; init; }
    /// <summary>Samples of the next epoch already trained on (0 at an epoch boundary).</summary>
    public int Position { get; init; }
    /// <summary>Optimizer steps taken (Adam's t).</summary>
    public long Step { get; init; }
    public double PartialLossSum { get; init; }
    public long PartialCorrect { get; init; }
    public double? ValidationAccuracy { get; init; }
    /// <summary>The best validation accuracy so far; null before the first epoch and when training on every image (no validation set).</summary>
    public double? BestValidationAccuracy { get; init; }
    public int BestEpoch { get; init; }
    public RunConfiguration Config { get; init; } = new();
    public DateTimeOffset SavedAt { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
