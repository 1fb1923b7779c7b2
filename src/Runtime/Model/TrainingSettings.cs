using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// The recipe a training run is defined by, apart from the model and the number of epochs: batch, optimizer,
/// learning-rate schedule, loss and augmentation, and the seed (the reference recipe by default).
/// </summary>
public sealed record TrainingSettings
{
    public int BatchSize { get; init; } = 32;

    /// <summary>The peak learning rate (every step's, under the constant schedule once warmed up).</summary>
    public double LearningRate { get; init; } = 1e-3;

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;
    public ulong Seed { get; init; } = 42;

    /// <summary>adam (the reference's, Keras form), adamw or sgd (Nesterov).</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>AdamW: decoupled; SGD and Adam: added to the gradient as in PyTorch. Conv and dense weights only.</summary>
    public double WeightDecay { get; init; }

    /// <summary>SGD's momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>constant, cosine or onecycle (see <see cref="Training.LearningRateSchedule"/>).</summary>
    public string Schedule { get; init; } = "constant";

    public double WarmupEpochs { get; init; }
    public double LabelSmoothing { get; init; }

    /// <summary>
    /// The decay of the exponential moving average of the weights that is evaluated and saved in their place (--ema);
    /// 0: none.
    /// </summary>
    public double Ema { get; init; }

    /// <summary>The training images' augmentation, as --augment writes it ("none", "flip,shift:2", …).</summary>
    public string Augment { get; init; } = AugmentationSpec.NoneText;

    /// <summary>
    /// Only in runs written before models were data (their pixel scale: true is [0, 1], false raw 0..255); the model
    /// definition's scale decides now.
    /// </summary>
    public bool? Normalize { get; init; }

    public static readonly string[] Optimizers = ["adam", "adamw", "sgd"];
    public static readonly string[] Schedules = ["constant", "cosine", "onecycle"];

    public OptimizerKind OptimizerKind => Optimizer switch
    {
        "adam" => OptimizerKind.Adam,
        "adamw" => OptimizerKind.AdamW,
        "sgd" => OptimizerKind.Sgd,
        _ => throw new FashionGpuException($"unknown optimizer \"{Optimizer}\"; use one of {string.Join(", ", Optimizers)}"),
    };

    /// <summary>Every value in range, with a message naming the flag that sets it when one is not.</summary>
    public void Validate()
    {
        if (BatchSize < 1)
            throw new FashionGpuException($"--batch-size must be at least 1 (got {BatchSize})");
        _ = OptimizerKind;
        if (!Schedules.Contains(Schedule))
            throw new FashionGpuException($"unknown --schedule \"{Schedule}\"; use one of {string.Join(", ", Schedules)}");
        foreach (var (name, range, value) in new[]
                 {
                     ("--learning-rate", SettingRange.Positive, LearningRate), ("--weight-decay", SettingRange.NonNegative, WeightDecay),
                     ("--momentum", SettingRange.Fraction, Momentum), ("--warmup-epochs", SettingRange.NonNegative, WarmupEpochs),
                     ("--label-smoothing", SettingRange.Fraction, LabelSmoothing), ("--ema", SettingRange.Fraction, Ema),
                 })
            if (range.Check(name, value) is { } problem)
                throw new FashionGpuException(problem);
        _ = AugmentationSpec.Parse(Augment);
    }

    public AugmentationSpec AugmentSpec => AugmentationSpec.Parse(Augment);

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

    /// <summary>The optimizer's constants for step <paramref name="step"/> (1-based) at learning rate <paramref name="learningRate"/>.</summary>
    public OptimizerStep OptimizerAt(long step, double learningRate) =>
        OptimizerStep.For(OptimizerKind, learningRate, OptimizerKind == OptimizerKind.Sgd ? Momentum : Beta1, Beta2, Epsilon, WeightDecay, step);

    /// <summary>
    /// The weight of step <paramref name="step"/>'s (1-based) parameters in the average: 1 − min(decay, (1 + t)/(10 + t)),
    /// so the first steps, far from where training goes, are forgotten quickly (TensorFlow's ExponentialMovingAverage
    /// with num_updates).
    /// </summary>
    public float AverageWeightAt(long step) => (float)(1 - Math.Min(Ema, (1.0 + step) / (10.0 + step)));

    /// <summary>The training images' augmentation in epoch <paramref name="epoch"/> (0-based).</summary>
    public Augmentation AugmentationIn(int epoch) =>
        AugmentSpec.For(CounterRng.Key(Seed, CounterRng.AugmentStream + (ulong)epoch), CounterRng.Key(Seed, CounterRng.FlipStream), epoch);
}
