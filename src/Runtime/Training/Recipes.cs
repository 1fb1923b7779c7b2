using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Training;

/// <summary>
/// A complete training recipe: the model preset it trains, the settings (optimizer, schedule, loss, augmentation),
/// the epochs and the hold-out. `--model NAME` picks one; flags override any of its values.
/// </summary>
/// <param name="Tta">The test-time augmentation the recipe's accuracy is quoted with (`evaluate --tta`, `bench --to-accuracy`).</param>
public sealed record Recipe(string Name, string Description, string Model, int Epochs, TrainingSettings Settings,
    double ValidationSplit = 0.2, int? Patience = null, string Tta = "none");

/// <summary>The built-in recipes: seed (the reference, unchanged), fast, best and record (see sweeps/ for how they were found).</summary>
public static class Recipes
{
    public static readonly Recipe Seed = new("seed", "the reference recipe: Adam 1e-3, batch 32, 3 epochs", "seed", 3, new TrainingSettings());

    /// <summary>best's and record's settings: AdamW, one-cycle to 6e-3, batch 128, flips and shifts, smoothing, a weight average.</summary>
    private static readonly TrainingSettings Augmented = new()
    {
        BatchSize = 128, LearningRate = 6e-3, Optimizer = "adamw", WeightDecay = 5e-2, Schedule = "onecycle", LabelSmoothing = 0.1,
        Augment = "flip,shift:2", Ema = 0.998,
    };

    public static readonly IReadOnlyList<Recipe> All =
    [
        Seed,
        new("fast", "under half a minute on two cores: cnn24pool on all 60,000 images, AdamW, one-cycle to 6e-3 rising over 0.75 epochs, batch 128, 5 epochs",
            "cnn24pool", 5, new TrainingSettings { BatchSize = 128, LearningRate = 6e-3, Optimizer = "adamw", WeightDecay = 5e-2, Schedule = "onecycle", WarmupEpochs = 0.75 },
            ValidationSplit: 0),
        new("best", "about three minutes on two cores, quoted with --tta shift: cnn24pool on all 60,000 images, AdamW, one-cycle to 6e-3, batch 128, flip and 2-pixel shifts, label smoothing 0.1, weight average 0.998, 30 epochs",
            "cnn24pool", 30, Augmented, ValidationSplit: 0, Tta: "shift"),
        new("record", "about twenty minutes on two cores, quoted with --tta shift: the best recipe's settings on cnn4 (four convolutions, 0.87 M parameters)",
            "cnn4", 30, Augmented, ValidationSplit: 0, Tta: "shift"),
    ];

    public static Recipe? Find(string? name) => All.FirstOrDefault(r => r.Name == (name ?? Seed.Name));

    /// <summary>The recipe `--model NAME` trains with: the named one, or the seed recipe for a bare model or no name.</summary>
    public static Recipe Of(string? name) => Find(name) ?? Seed;

    /// <summary>The model preset `--model NAME` names: a recipe's model, or the name itself (null when none is given).</summary>
    public static string? ModelNamed(string? name) => name is null ? null : Find(name)?.Model ?? name;
}
