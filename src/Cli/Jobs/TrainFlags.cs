using System.CommandLine;
using System.Globalization;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// One `train` setting, declared once: its flag (name, help, the range a value must be in), the configuration key it
/// binds (Train:PropertyName), how a given flag overrides the configured value, and what --resume does with it. The
/// flag's parser, the configuration's validation and the resume check all come from the declaration.
/// </summary>
public interface ITrainFlag
{
    Option Option { get; }

    /// <summary>Puts the flag's value, when given, over the configured one.</summary>
    void Apply(ParseResult parse, TrainOptions options);

    /// <summary>Checks the bound value (flags were checked when parsed, so a problem here came from configuration).</summary>
    void Validate(TrainOptions options);

    /// <summary>"--seed (the run's is 42)" when the flag was given and would change the run being resumed, else null.</summary>
    string? ResumeConflict(TrainOptions options, RunConfiguration run, string directory);
}

/// <summary>A setting whose flag parses as <typeparamref name="T"/> (int, double, ulong, bool or string).</summary>
/// <param name="get">The bound value (null: not set).</param>
/// <param name="problem">The range: given the name to blame and a value, what is wrong with it, or null.</param>
/// <param name="choices">The only values allowed, shown in --help.</param>
/// <param name="resume">Null: --resume may change it; else the run's own value, shown in the refusal.</param>
/// <param name="differs">Whether the given value would change the run (default: it is not equal to the run's).</param>
public sealed class TrainFlag<T>(string name, string key, string help, Func<TrainOptions, object?> get, Action<TrainOptions, T> set,
    Func<string, T, string?>? problem = null, string[]? choices = null, Func<RunConfiguration, string, object?>? resume = null,
    Func<TrainOptions, RunConfiguration, string, bool>? differs = null) : ITrainFlag
{
    private readonly Option<T> _option = Make(name, help, problem, choices);

    private static Option<T> Make(string name, string help, Func<string, T, string?>? problem, string[]? choices)
    {
        var option = FlagFactory.Create<T>(name, help, problem is null || choices is not null ? null : v => problem(name, v));
        if (choices is not null)
            option.AcceptOnlyFromAmong(choices);
        return option;
    }

    public Option Option => _option;

    public void Apply(ParseResult parse, TrainOptions options)
    {
        if (parse.GetResult(_option) is not null)
            set(options, parse.GetValue(_option)!);
    }

    public void Validate(TrainOptions options)
    {
        if (problem is not null && get(options) is T value && problem($"configuration value Train:{key}", value) is { } wrong)
            throw new UsageException($"{wrong}; fix FASHIONGPU__Train__{key} or appsettings.json");
    }

    public string? ResumeConflict(TrainOptions options, RunConfiguration run, string directory)
    {
        if (resume is null || !options.FromCommandLine.Contains(name))
            return null;
        var theirs = resume(run, directory);
        var changes = differs?.Invoke(options, run, directory) ?? !Equals(get(options), theirs);
        return changes ? $"{name} (the run's is {Show(theirs)})" : null;
    }

    private static string Show(object? value) => value switch
    {
        null => "none",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Every `train` flag, declared once, in the order `--help` lists them.</summary>
public static class TrainFlags
{
    private static string? Between(string name, int value, int low, int high) =>
        value < low || value > high ? string.Create(CultureInfo.InvariantCulture, $"{name} must be between {low} and {high} (got {value})") : null;

    private static string? AtLeast(string name, int value, int low) =>
        value < low ? string.Create(CultureInfo.InvariantCulture, $"{name} must be at least {low} (got {value})") : null;

    private static string? OneOf(string name, string value, IReadOnlyCollection<string> allowed) =>
        allowed.Contains(value) ? null : $"{name} must be {string.Join(", ", allowed.SkipLast(1))} or {allowed.Last()} (got {value})";

    /// <summary>The flag's message is the device parser's own; a configured value is blamed on its key.</summary>
    private static string? Device(string name, string value) =>
        DeviceSpec.TryParse(value, out _, out var error) ? null : name.StartsWith("--", StringComparison.Ordinal) ? error : $"{name}: {error}";

    private static string? Augmentation(string name, string value)
    {
        try
        {
            AugmentationSpec.Parse(value);
            return null;
        }
        catch (Runtime.FashionGpuException e)
        {
            return name.StartsWith("--", StringComparison.Ordinal) ? e.Message : $"{name} must be {AugmentationSpec.Syntax} (got {value})";
        }
    }

    public static IReadOnlyList<ITrainFlag> All { get; } =
    [
        new TrainFlag<string>("--data-dir", "DataDir", "Directory with the IDX or Kaggle CSV files (default: $FASHIONGPU_DATA, ./data/fashion-mnist, /usr/share/datasets/fashion-mnist, then the bundled sample)",
            o => o.DataDir, (o, v) => o.DataDir = v),
        new TrainFlag<string>("--device", "Device", $"Accelerator: {DeviceSpec.Syntax} (default: auto = first of cuda, opencl, simd)",
            o => o.Device, (o, v) => o.Device = v, Device),
        new TrainFlag<string>("--model", "Model", $"Built-in recipe ({string.Join(", ", Recipes.All.Select(r => r.Name))}) or model ({ModelPresets.Names}) (default: seed; see --list-models)",
            o => o.Model, (o, v) => o.Model = v),
        new TrainFlag<string>("--model-file", "ModelFile", "A model definition (JSON: input, scale, layers) instead of a preset", o => o.ModelFile, (o, v) => o.ModelFile = v),
        new TrainFlag<int>("--filters", "Filters", "Filters of the first conv layer (default: the model's)", o => o.Filters, (o, v) => o.Filters = v,
            (name, v) => Between(name, v, 1, 4096)),
        new TrainFlag<int>("--hidden", "Hidden", "Units of the first hidden dense layer (default: the model's)", o => o.Hidden, (o, v) => o.Hidden = v,
            (name, v) => Between(name, v, 1, 65536)),
        new TrainFlag<double>("--dropout", "Dropout", "Rate of every dropout layer (default: the model's)", o => o.Dropout, (o, v) => o.Dropout = v,
            SettingRange.Fraction.Check),
        new TrainFlag<string>("--pixels", "Pixels", "scaled (× 1/255, the default) or raw (0..255, as the reference)", o => o.Pixels, (o, v) => o.Pixels = v,
            (name, v) => OneOf(name, v, ["scaled", "raw"]), ["scaled", "raw"]),
        new TrainFlag<bool>("--normalize", "Normalize", "Accepted for old scripts: the same as --pixels scaled", o => o.Normalize, (o, v) => o.Normalize |= v,
            resume: (run, _) => run.Model is { } m && m.Scale != ModelDefinition.ScaledPixels ? "raw pixels" : "scaled pixels",
            differs: (o, run, _) => run.Model is { } m && m.Scale != ModelDefinition.ScaledPixels),
        new TrainFlag<bool>("--list-models", "ListModels", "List the built-in recipes, models and layer kinds, and exit", o => o.ListModels, (o, v) => o.ListModels |= v),
        new TrainFlag<int>("--epochs", "Epochs", "Epochs to train (default: the recipe's; seed: 3)", o => o.Epochs, (o, v) => o.Epochs = v,
            (name, v) => AtLeast(name, v, 1),
            // The schedule's curve spans the run's epochs: more of them would bend the part still to come.
            resume: (run, _) => $"{run.Epochs}, and its {run.Settings.Schedule} schedule spans them",
            differs: (o, run, _) => run.Settings.Schedule != "constant" && o.Epochs != run.Epochs),
        new TrainFlag<int>("--batch-size", "BatchSize", "Images per step (default: the recipe's; seed: 32)", o => o.BatchSize, (o, v) => o.BatchSize = v,
            (name, v) => Between(name, v, 1, 4096), resume: (run, _) => run.Settings.BatchSize),
        new TrainFlag<double>("--learning-rate", "LearningRate", "Peak learning rate (default: the recipe's; seed: 0.001)", o => o.LearningRate,
            (o, v) => o.LearningRate = v, SettingRange.Positive.Check, resume: (run, _) => run.Settings.LearningRate),
        new TrainFlag<string>("--optimizer", "Optimizer", "adam (Keras form, the reference), adamw (decoupled weight decay) or sgd (Nesterov) (default: the recipe's)",
            o => o.Optimizer, (o, v) => o.Optimizer = v, (name, v) => OneOf(name, v, TrainingSettings.Optimizers), TrainingSettings.Optimizers,
            resume: (run, _) => run.Settings.Optimizer),
        new TrainFlag<double>("--weight-decay", "WeightDecay", "Weight decay of conv and dense weights (never biases or batchnorm); decoupled for adamw (default: the recipe's; seed: 0)",
            o => o.WeightDecay, (o, v) => o.WeightDecay = v, SettingRange.NonNegative.Check, resume: (run, _) => run.Settings.WeightDecay),
        new TrainFlag<double>("--momentum", "Momentum", "SGD's Nesterov momentum (default: 0.9)", o => o.Momentum, (o, v) => o.Momentum = v,
            SettingRange.Fraction.Check, resume: (run, _) => run.Settings.Momentum),
        new TrainFlag<string>("--schedule", "Schedule", "Learning-rate schedule: constant, cosine or onecycle (default: the recipe's; seed: constant)",
            o => o.Schedule, (o, v) => o.Schedule = v, (name, v) => OneOf(name, v, TrainingSettings.Schedules), TrainingSettings.Schedules,
            resume: (run, _) => run.Settings.Schedule),
        new TrainFlag<double>("--warmup-epochs", "WarmupEpochs", "Epochs of linear warmup (onecycle: of its rise; default 30 % of the run)",
            o => o.WarmupEpochs, (o, v) => o.WarmupEpochs = v, SettingRange.NonNegative.Check, resume: (run, _) => run.Settings.WarmupEpochs),
        new TrainFlag<double>("--label-smoothing", "LabelSmoothing", "Label smoothing of the cross-entropy, as PyTorch's (default: the recipe's; seed: 0)",
            o => o.LabelSmoothing, (o, v) => o.LabelSmoothing = v, SettingRange.Fraction.Check, resume: (run, _) => run.Settings.LabelSmoothing),
        new TrainFlag<double>("--ema", "Ema", "Decay of an exponential moving average of the weights, evaluated and saved in their place (default: the recipe's; seed: 0, none)",
            o => o.Ema, (o, v) => o.Ema = v, SettingRange.Fraction.Check, resume: (run, _) => run.Settings.Ema),
        new TrainFlag<string>("--augment", "Augment", $"Training augmentation: {AugmentationSpec.Syntax} (default: the recipe's; seed: none)",
            o => o.Augment, (o, v) => o.Augment = v, Augmentation, resume: (run, _) => run.Settings.Augment,
            differs: (o, run, _) => o.Augment is { } a && AugmentationSpec.Parse(a).ToString() != run.Settings.Augment),
        new TrainFlag<int>("--patience", "Patience", "Stop after N epochs without a better validation accuracy (default: never)", o => o.Patience,
            (o, v) => o.Patience = v, (name, v) => AtLeast(name, v, 1), resume: (run, _) => run.Patience),
        new TrainFlag<double>("--validation-split", "ValidationSplit", "Fraction of the training set held out; 0 trains on every image (default: the recipe's; seed: 0.2)",
            o => o.ValidationSplit, (o, v) => o.ValidationSplit = v, SettingRange.SplitFraction.Check, resume: (run, _) => run.ValidationSplit),
        new TrainFlag<ulong>("--seed", "Seed", "Seed of the initial weights, hold-out, shuffles, dropout and augmentation (default: 42)", o => o.Seed,
            (o, v) => o.Seed = v, resume: (run, _) => run.Settings.Seed),
        new TrainFlag<int>("--limit-train", "LimitTrain", "Use only the first N training images (quick runs)", o => o.LimitTrain, (o, v) => o.LimitTrain = v,
            (name, v) => AtLeast(name, v, 1), resume: (run, _) => run.LimitTrain?.ToString(CultureInfo.InvariantCulture) ?? "all images",
            differs: (o, run, _) => o.LimitTrain != run.LimitTrain),
        new TrainFlag<string>("--run-dir", "RunDir", "Where checkpoints and metrics go (default: runs/<timestamp>)", o => o.RunDir, (o, v) => o.RunDir = v,
            resume: (_, directory) => directory,
            differs: (o, _, directory) => o.RunDir is not null && Path.GetFullPath(o.RunDir) != Path.GetFullPath(directory)),
        new TrainFlag<int>("--checkpoint-every", "CheckpointEvery", "Write checkpoints after every Nth epoch (and always after the last, an early stop or Ctrl+C); a crash loses at most the epochs since (default: 1)",
            o => o.CheckpointEvery, (o, v) => o.CheckpointEvery = v, (name, v) => AtLeast(name, v, 1)),
        new TrainFlag<string>("--resume", "Resume", "Continue the run in DIR from its last checkpoint", o => o.Resume, (o, v) => o.Resume = v),
        new TrainFlag<bool>("--json", "Json", "Print one JSON object per epoch on stdout", o => o.Json, (o, v) => o.Json |= v),
    ];
}
