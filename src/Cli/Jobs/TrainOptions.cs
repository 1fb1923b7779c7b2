using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Cli.Jobs;

/// <summary>`fashiongpu train`'s options: bound from configuration (section Train), then overridden by flags.</summary>
public sealed class TrainOptions
{
    public string? DataDir { get; set; }
    public string Device { get; set; } = "auto";
    // The recipe's values: null takes them from the recipe --model names (seed's by default).
    public int? Epochs { get; set; }
    public int? BatchSize { get; set; }
    public double? LearningRate { get; set; }
    public double? ValidationSplit { get; set; }
    public string? Optimizer { get; set; }
    public double? WeightDecay { get; set; }
    public double? Momentum { get; set; }
    public string? Schedule { get; set; }
    public double? WarmupEpochs { get; set; }
    public double? LabelSmoothing { get; set; }
    public double? Ema { get; set; }
    public string? Augment { get; set; }
    public int? Patience { get; set; }
    /// <summary>Epochs between checkpoints; it does not change the run, so --resume may give another.</summary>
    public int? CheckpointEvery { get; set; }
    public ulong Seed { get; set; } = 42;
    /// <summary>A built-in recipe (<see cref="Recipes"/>) or model (<see cref="ModelPresets"/>); the default is seed.</summary>
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
    /// <summary>The flags given on the command line (a resumed run keeps its own settings otherwise).</summary>
    public HashSet<string> FromCommandLine { get; set; } = [];

    /// <summary>
    /// Checks the values as bound. Flags are range-checked when the command line is parsed, and a flag that is given
    /// replaces the configured value, so anything caught here came from configuration and is blamed on it.
    /// </summary>
    public void Validate()
    {
        foreach (var flag in TrainFlags.All)
            flag.Validate(this);
        if (Normalize && Pixels == "raw")
            throw new UsageException("--normalize means --pixels scaled; drop one of --normalize and --pixels raw");
    }

    public static UsageException Configured(string key, string rule, object? got) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"configuration value {key} must be {rule} (got {got}); fix FASHIONGPU__{key.Replace(":", "__", StringComparison.Ordinal)} or appsettings.json"));

    /// <summary>True when a flag chose or changed the model (a resumed run keeps its own).</summary>
    public bool ShapesModel => Model is not null || ModelFile is not null || Filters is not null || Hidden is not null || Dropout is not null || Pixels is not null;

    /// <summary>The recipe --model names (the seed's for a plain model, a model file or no --model).</summary>
    public Recipe Recipe => Recipes.Of(Model);

    /// <summary>The model these options name: a recipe's, a preset or a file, with the seed's knobs and the pixel scale applied.</summary>
    public ModelPlan ResolveModel() => new ModelChoice(Recipes.ModelNamed(Model), ModelFile, Filters, Hidden, Dropout,
        Pixels == "raw" ? 1f : Pixels == "scaled" || Normalize ? ModelDefinition.ScaledPixels : null).Resolve();

    /// <summary>The recipe's settings with every option that was given (by configuration or flag) in its place.</summary>
    public TrainingSettings ResolveSettings()
    {
        var r = Recipe.Settings;
        return r with
        {
            BatchSize = BatchSize ?? r.BatchSize, LearningRate = LearningRate ?? r.LearningRate, Seed = Seed,
            Optimizer = Optimizer ?? r.Optimizer, WeightDecay = WeightDecay ?? r.WeightDecay, Momentum = Momentum ?? r.Momentum,
            Schedule = Schedule ?? r.Schedule, WarmupEpochs = WarmupEpochs ?? r.WarmupEpochs, LabelSmoothing = LabelSmoothing ?? r.LabelSmoothing,
            Ema = Ema ?? r.Ema,
            Augment = Augment is null ? r.Augment : AugmentationSpec.Parse(Augment).ToString(),
        };
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
    /// <summary>Test-time augmentation: none, flip, shift or flip,shift.</summary>
    public string Tta { get; set; } = "none";

    /// <summary>Which checkpoint is checked by <see cref="ChosenCheckpoint"/>.</summary>
    public void Validate()
    {
        if (!DeviceSpec.TryParse(Device, out _, out var error))
            throw new UsageException($"configuration value Evaluate:Device: {error}; fix FASHIONGPU__Evaluate__Device or appsettings.json");
        if (!Runtime.Evaluation.TestTimeAugmentation.TryParse(Tta, out _))
            throw TrainOptions.Configured("Evaluate:Tta", Runtime.Evaluation.TestTimeAugmentation.Syntax, Tta);
    }
}
