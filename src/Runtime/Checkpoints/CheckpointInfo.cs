using System.Text.Json;
using System.Text.Json.Serialization;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>What a run was asked to do: enough to repeat it, or to continue it.</summary>
public sealed record RunConfiguration
{
    /// <summary>The model trained (null only in runs written before models were data: they trained the seed model).</summary>
    public ModelDefinition? Model { get; init; }
    /// <summary>
    /// The recipe the run's settings started from (seed, fast, best; seed for a bare model or a model file); flags may
    /// have overridden any of its values. Null in runs written before recipes.
    /// </summary>
    public string? Recipe { get; init; }
    public TrainingSettings Settings { get; init; } = new();
    public int Epochs { get; init; } = 3;
    public double ValidationSplit { get; init; } = 0.2;
    public int? LimitTrain { get; init; }
    /// <summary>Stop after this many epochs without a better validation accuracy (null: never).</summary>
    public int? Patience { get; init; }
    /// <summary>Optimizer steps in an epoch (the learning-rate schedule's unit), set when training starts.</summary>
    public int? StepsPerEpoch { get; init; }
    public string DataDirectory { get; init; } = "";
    public string DataOrigin { get; init; } = "";
    public string DataVerification { get; init; } = "";
    public string TrainPixelsSha256 { get; init; } = "";
    public string TrainLabelsSha256 { get; init; } = "";
    public string Device { get; init; } = "";

    /// <summary>"fast: 5 epochs, batch 128, adamw 0.004 (onecycle, weight decay 0.05), augment none, …": what train prints.</summary>
    [JsonIgnore]
    public string RecipeLine
    {
        get
        {
            var s = Settings;
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var parts = new List<string>
            {
                string.Create(inv, $"{Epochs} epoch{(Epochs == 1 ? "" : "s")}"),
                string.Create(inv, $"batch {s.BatchSize}"),
                string.Create(inv, $"{s.Optimizer} {s.LearningRate:G4} ({s.Schedule}{(s.WarmupEpochs > 0 ? $", warmup {s.WarmupEpochs:G4} epochs" : "")}") +
                    (s.WeightDecay > 0 ? string.Create(inv, $", weight decay {s.WeightDecay:G4}") : "") +
                    (s.Optimizer == "sgd" ? string.Create(inv, $", Nesterov momentum {s.Momentum:G4}") : "") + ")",
                $"augment {s.Augment}",
            };
            if (s.LabelSmoothing > 0)
                parts.Add(string.Create(inv, $"label smoothing {s.LabelSmoothing:G4}"));
            if (s.Ema > 0)
                parts.Add(string.Create(inv, $"weight average (EMA) {s.Ema:G4}"));
            if (Patience is { } p)
                parts.Add(string.Create(inv, $"patience {p}"));
            return $"{Recipe ?? "seed"}: {string.Join(", ", parts)}";
        }
    }
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
