using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Jobs;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace FashionGpu.Cli;

/// <summary>
/// The `fashiongpu` command line. Flags are nullable: a flag that is given overrides the configuration
/// (appsettings.json, FASHIONGPU__Train__Epochs=…), one that is not leaves it alone. Parse errors and out-of-range
/// values exit with 2 and one `error:` line.
/// </summary>
public static class CliApplication
{
    private static readonly Option<bool> Verbose = new("--verbose") { Description = "Log diagnostics and show stack traces on errors", Recursive = true };

    public static int Run(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var commands = root.Subcommands.Select(c => c.Name).ToArray();
            var unknown = parse.CommandResult.Command == root && args.Length > 0 && !args[0].StartsWith('-') && !commands.Contains(args[0]);
            Console.Error.WriteLine(unknown
                ? $"error: unknown command '{args[0]}'{Nearest(args[0], commands) switch { { } n => $"; did you mean '{n}'?", _ => "" }} (commands: {string.Join(", ", commands)})"
                : $"error: {parse.Errors[0].Message}");
            var command = parse.CommandResult.Command == root ? "" : " " + parse.CommandResult.Command.Name;
            Console.Error.WriteLine($"run '{CommandName.Value}{command} --help' for usage");
            return ExitCodes.Usage;
        }
        return parse.Invoke();
    }

    /// <summary>The command within two edits of what was typed (Levenshtein distance), if one is.</summary>
    private static string? Nearest(string typed, IEnumerable<string> commands)
    {
        static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (var j = 0; j <= b.Length; j++) d[0, j] = j;
            for (var i = 1; i <= a.Length; i++)
                for (var j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }
        return commands.Select(c => (c, Distance(typed.ToLowerInvariant(), c))).Where(x => x.Item2 <= 2).OrderBy(x => x.Item2).Select(x => x.c).FirstOrDefault();
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("Train, evaluate, export and sweep Fashion-MNIST classifiers (any sequential CNN) with ILGPU kernels on CUDA, OpenCL or the CPU accelerator, or the SIMD engine on all cores.");
        root.Options.Add(Verbose);
        root.Subcommands.Add(TrainCommand());
        root.Subcommands.Add(EvaluateCommand());
        root.Subcommands.Add(PredictCommand());
        root.Subcommands.Add(ReportCommand());
        root.Subcommands.Add(CompareCommand());
        root.Subcommands.Add(ExportCommand());
        root.Subcommands.Add(SweepCommand());
        root.Subcommands.Add(BenchCommand());
        root.Subcommands.Add(DevicesCommand());
        return root;
    }

    /// <summary>
    /// A flag; numbers are parsed here (invariant culture, finite) so a value that is not one is a usage error naming
    /// the flag, and <paramref name="check"/> (a range, say) turns a bad value into one.
    /// </summary>
    private static Option<T> Flag<T>(string name, string description, Func<T, string?>? check = null)
    {
        var option = new Option<T>(name) { Description = description, HelpName = HelpNameOf(name, typeof(T)) };
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (type == typeof(int) || type == typeof(double) || type == typeof(ulong))
        {
            option.CustomParser = result =>
            {
                var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                object? value = type == typeof(int) ? int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null
                    : type == typeof(ulong) ? ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : null
                    : double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
                if (value is null)
                {
                    result.AddError(type == typeof(int) ? $"{name} must be a whole number (got '{token}')"
                        : type == typeof(ulong) ? $"{name} must be a whole number from 0 to {ulong.MaxValue} (got '{token}')"
                        : $"{name} must be a finite number (got '{token}')");
                    return default;
                }
                if (check?.Invoke((T)value) is { } error)
                    result.AddError(error);
                return (T)value;
            };
        }
        else if (type == typeof(string) && option.HelpName is "DIR" or "FILE")
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<T>() is string { Length: 0 })
                    result.AddError($"{name} is empty; give a {(option.HelpName == "DIR" ? "directory" : "file")}");
                else if (result.GetValueOrDefault<T>() is { } value && check?.Invoke(value) is { } error)
                    result.AddError(error);
            });
        }
        else if (check is not null)
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<T>() is { } value && check(value) is { } error)
                    result.AddError(error);
            });
        }
        return option;
    }

    /// <summary>What --help shows after a flag: DIR, FILE, NAME, N or X rather than the option's own name.</summary>
    private static string? HelpNameOf(string name, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(bool))
            return null;
        if (t == typeof(int) || t == typeof(ulong))
            return "N";
        if (t == typeof(double))
            return "X";
        return name switch
        {
            "--run" or "--resume" or "--data-dir" or "--run-dir" => "DIR",
            "--checkpoint" or "--output" or "--model-file" or "--onnx" => "FILE",
            "--model" => "NAME",
            "--device" => "DEVICE",
            _ => null,
        };
    }

    /// <summary>Runs <typeparamref name="TJob"/> on the host with options bound from configuration section
    /// <paramref name="section"/>, then overridden by the flags given on the command line.</summary>
    private static void RunsHosted<TJob, TOptions>(Command command, string section, Action<ParseResult, TOptions> applyFlags)
        where TJob : class, IJob where TOptions : class =>
        command.SetAction(parse => JobHost.Run<TJob>(parse.GetValue(Verbose), builder =>
        {
            builder.Services.Configure<TOptions>(builder.Configuration.GetSection(section));
            builder.Services.PostConfigure<TOptions>(o => applyFlags(parse, o));
        }));

    private static Option<string?> DeviceFlag() =>
        Flag<string?>("--device", $"Accelerator: {DeviceSpec.Syntax} (default: auto = first of cuda, opencl, simd)", v => DeviceSpec.TryParse(v, out _, out var error) ? null : error);

    private static Option<int?> BatchSizeFlag() =>
        Flag<int?>("--batch-size", "Images per step (default: 32)", v => v is < 1 or > 4096 ? $"--batch-size must be between 1 and 4096 (got {v})" : null);

    private static Func<double?, string?> Within(SettingRange range, string name) => v => v is { } value ? range.Check(name, value) : null;

    private static Option<int?> AtLeast(string name, int minimum, string description) =>
        Flag<int?>(name, description, v => v < minimum ? $"{name} must be at least {minimum} (got {v})" : null);

    private static Command TrainCommand()
    {
        var dataDir = Flag<string?>("--data-dir", "Directory with the IDX or Kaggle CSV files (default: $FASHIONGPU_DATA, ./data/fashion-mnist, /usr/share/datasets/fashion-mnist, then the bundled sample)");
        var device = DeviceFlag();
        var epochs = AtLeast("--epochs", 1, "Epochs to train (default: the recipe's; seed: 3)");
        var batchSize = Flag<int?>("--batch-size", "Images per step (default: the recipe's; seed: 32)", v => v is < 1 or > 4096 ? $"--batch-size must be between 1 and 4096 (got {v})" : null);
        var learningRate = Flag<double?>("--learning-rate", "Peak learning rate (default: the recipe's; seed: 0.001)", Within(SettingRange.Positive, "--learning-rate"));
        var validationSplit = Flag<double?>("--validation-split", "Fraction of the training set held out; 0 trains on every image (default: the recipe's; seed: 0.2)", Within(SettingRange.SplitFraction, "--validation-split"));
        var seed = Flag<ulong?>("--seed", "Seed of the initial weights, hold-out, shuffles, dropout and augmentation (default: 42)");
        var model = Flag<string?>("--model", $"Built-in recipe ({string.Join(", ", Recipes.All.Select(r => r.Name))}) or model ({ModelPresets.Names}) (default: seed; see --list-models)");
        var optimizer = Flag<string?>("--optimizer", "adam (Keras form, the reference), adamw (decoupled weight decay) or sgd (Nesterov) (default: the recipe's)");
        optimizer.AcceptOnlyFromAmong(TrainingSettings.Optimizers);
        var weightDecay = Flag<double?>("--weight-decay", "Weight decay of conv and dense weights (never biases or batchnorm); decoupled for adamw (default: the recipe's; seed: 0)", Within(SettingRange.NonNegative, "--weight-decay"));
        var momentum = Flag<double?>("--momentum", "SGD's Nesterov momentum (default: 0.9)", Within(SettingRange.Fraction, "--momentum"));
        var schedule = Flag<string?>("--schedule", "Learning-rate schedule: constant, cosine or onecycle (default: the recipe's; seed: constant)");
        schedule.AcceptOnlyFromAmong(TrainingSettings.Schedules);
        var warmupEpochs = Flag<double?>("--warmup-epochs", "Epochs of linear warmup (onecycle: of its rise; default 30 % of the run)", Within(SettingRange.NonNegative, "--warmup-epochs"));
        var labelSmoothing = Flag<double?>("--label-smoothing", "Label smoothing of the cross-entropy, as PyTorch's (default: the recipe's; seed: 0)", Within(SettingRange.Fraction, "--label-smoothing"));
        var augment = Flag<string?>("--augment", $"Training augmentation: {AugmentationSpec.Syntax} (default: the recipe's; seed: none)", v =>
        {
            try
            {
                AugmentationSpec.Parse(v ?? "");
                return null;
            }
            catch (FashionGpuException e)
            {
                return e.Message;
            }
        });
        var patience = AtLeast("--patience", 1, "Stop after N epochs without a better validation accuracy (default: never)");
        var modelFile = Flag<string?>("--model-file", "A model definition (JSON: input, scale, layers) instead of a preset");
        var filters = Flag<int?>("--filters", "Filters of the first conv layer (default: the model's)", v => v is < 1 or > 4096 ? $"--filters must be between 1 and 4096 (got {v})" : null);
        var hidden = Flag<int?>("--hidden", "Units of the first hidden dense layer (default: the model's)", v => v is < 1 or > 65536 ? $"--hidden must be between 1 and 65536 (got {v})" : null);
        var dropout = Flag<double?>("--dropout", "Rate of every dropout layer (default: the model's)", Within(SettingRange.Fraction, "--dropout"));
        var pixels = Flag<string?>("--pixels", "scaled (× 1/255, the default) or raw (0..255, as the reference)");
        pixels.AcceptOnlyFromAmong("scaled", "raw");
        var normalize = Flag<bool>("--normalize", "Accepted for old scripts: the same as --pixels scaled");
        var listModels = Flag<bool>("--list-models", "List the built-in recipes, models and layer kinds, and exit");
        var limitTrain = AtLeast("--limit-train", 1, "Use only the first N training images (quick runs)");
        var runDir = Flag<string?>("--run-dir", "Where checkpoints and metrics go (default: runs/<timestamp>)");
        var resume = Flag<string?>("--resume", "Continue the run in DIR from its last checkpoint");
        var json = Flag<bool>("--json", "Print one JSON object per epoch on stdout");
        var command = new Command("train", "Train a model (the seed model by default); Ctrl+C saves a resumable checkpoint")
        {
            dataDir, device, model, modelFile, filters, hidden, dropout, pixels, normalize, listModels, epochs, batchSize, learningRate,
            optimizer, weightDecay, momentum, schedule, warmupEpochs, labelSmoothing, augment, patience,
            validationSplit, seed, limitTrain, runDir, resume, json,
        };
        RunsHosted<TrainJob, TrainOptions>(command, "Train", (parse, o) =>
        {
            o.DataDir = parse.GetValue(dataDir) ?? o.DataDir;
            o.Device = parse.GetValue(device) ?? o.Device;
            o.FromCommandLine = command.Options.Where(option => parse.GetResult(option) is not null).Select(option => option.Name).ToHashSet();
            o.Epochs = parse.GetValue(epochs) ?? o.Epochs;
            o.BatchSize = parse.GetValue(batchSize) ?? o.BatchSize;
            o.LearningRate = parse.GetValue(learningRate) ?? o.LearningRate;
            o.ValidationSplit = parse.GetValue(validationSplit) ?? o.ValidationSplit;
            o.Optimizer = parse.GetValue(optimizer) ?? o.Optimizer;
            o.WeightDecay = parse.GetValue(weightDecay) ?? o.WeightDecay;
            o.Momentum = parse.GetValue(momentum) ?? o.Momentum;
            o.Schedule = parse.GetValue(schedule) ?? o.Schedule;
            o.WarmupEpochs = parse.GetValue(warmupEpochs) ?? o.WarmupEpochs;
            o.LabelSmoothing = parse.GetValue(labelSmoothing) ?? o.LabelSmoothing;
            o.Augment = parse.GetValue(augment) ?? o.Augment;
            o.Patience = parse.GetValue(patience) ?? o.Patience;
            o.Seed = parse.GetValue(seed) ?? o.Seed;
            o.Model = parse.GetValue(model) ?? o.Model;
            o.ModelFile = parse.GetValue(modelFile) ?? o.ModelFile;
            o.Filters = parse.GetValue(filters) ?? o.Filters;
            o.Hidden = parse.GetValue(hidden) ?? o.Hidden;
            o.Dropout = parse.GetValue(dropout) ?? o.Dropout;
            o.Pixels = parse.GetValue(pixels) ?? o.Pixels;
            o.Normalize |= parse.GetValue(normalize);
            o.ListModels |= parse.GetValue(listModels);
            o.LimitTrain = parse.GetValue(limitTrain) ?? o.LimitTrain;
            o.RunDir = parse.GetValue(runDir) ?? o.RunDir;
            o.Resume = parse.GetValue(resume) ?? o.Resume;
            o.Json |= parse.GetValue(json);
        });
        return command;
    }

    private static Command EvaluateCommand()
    {
        var run = Flag<string?>("--run", "Run directory: evaluates its best.safetensors");
        var checkpoint = Flag<string?>("--checkpoint", "A .safetensors checkpoint to evaluate");
        var dataDir = Flag<string?>("--data-dir", "Directory with the test files (same search order as train)");
        var device = DeviceFlag();
        var output = Flag<string?>("--output", "Write the text report here (and the JSON beside it); default: report.txt in the run directory");
        var json = Flag<bool>("--json", "Print the report as JSON on stdout");
        var tta = TtaFlag();
        var command = new Command("evaluate", "Report accuracy, precision, recall, per-class metrics and the confusion matrix on the test set")
        {
            run, checkpoint, dataDir, device, output, tta, json,
        };
        RunsHosted<EvaluateJob, EvaluateOptions>(command, "Evaluate", (parse, o) =>
        {
            o.Run = parse.GetValue(run) ?? o.Run;
            o.Checkpoint = parse.GetValue(checkpoint) ?? o.Checkpoint;
            o.DataDir = parse.GetValue(dataDir) ?? o.DataDir;
            o.Device = parse.GetValue(device) ?? o.Device;
            o.Output = parse.GetValue(output) ?? o.Output;
            o.Tta = parse.GetValue(tta) ?? o.Tta;
            o.Json |= parse.GetValue(json);
        });
        return command;
    }

    private static Option<string?> TtaFlag()
    {
        var tta = Flag<string?>("--tta", "Test-time augmentation: none (the default) or flip (average the probabilities of each image and its mirror)");
        tta.AcceptOnlyFromAmong("none", "flip");
        return tta;
    }

    private static Command PredictCommand()
    {
        var run = Flag<string?>("--run", "Run directory: predicts with its best.safetensors");
        var checkpoint = Flag<string?>("--checkpoint", "A .safetensors checkpoint");
        var device = DeviceFlag();
        var json = Flag<bool>("--json", "Print the predictions as JSON on stdout");
        var onnx = Flag<string?>("--onnx", "An exported ONNX model to run through ONNX Runtime instead of a checkpoint");
        var images = new Argument<string[]>("IMAGE") { Description = "PNG or JPEG images, IDX image files or Kaggle CSV files", Arity = ArgumentArity.OneOrMore };
        var tta = TtaFlag();
        var command = new Command("predict", "The top 3 classes for your own images (PNG/JPEG, inverted when the background is light) or IDX/CSV files")
        {
            run, checkpoint, onnx, device, tta, json, images,
        };
        RunsHosted<PredictJob, PredictOptions>(command, "Predict", (parse, o) =>
        {
            o.Run = parse.GetValue(run) ?? o.Run;
            o.Checkpoint = parse.GetValue(checkpoint) ?? o.Checkpoint;
            o.Device = parse.GetValue(device) ?? o.Device;
            o.Json |= parse.GetValue(json);
            o.Onnx = parse.GetValue(onnx) ?? o.Onnx;
            o.Tta = parse.GetValue(tta) ?? o.Tta;
            o.Images = parse.GetValue(images) ?? [];
        });
        return command;
    }

    private static Command ReportCommand()
    {
        var run = Flag<string?>("--run", "Run directory to report on");
        var dataDir = Flag<string?>("--data-dir", "Where the test images are, for the grid of misclassified ones (same search order as train)");
        var command = new Command("report", "Write the run's figures (PNG) and report.html; train and evaluate do this themselves") { run, dataDir };
        RunsHosted<ReportJob, ReportOptions>(command, "Report", (parse, o) =>
        {
            o.Run = parse.GetValue(run) ?? o.Run;
            o.DataDir = parse.GetValue(dataDir) ?? o.DataDir;
        });
        return command;
    }

    private static Command CompareCommand()
    {
        var runs = new Argument<string[]>("RUN") { Description = "Two run directories", Arity = new ArgumentArity(2, 2) };
        var command = new Command("compare", "Two runs side by side: accuracy, per-class F1, speed") { runs };
        RunsHosted<CompareJob, CompareRunsOptions>(command, "Compare", (parse, o) => o.Runs = parse.GetValue(runs) ?? o.Runs);
        return command;
    }

    private static Command ExportCommand()
    {
        var run = Flag<string?>("--run", "Run directory: exports its best.safetensors (to DIR/model.onnx)");
        var checkpoint = Flag<string?>("--checkpoint", "A .safetensors checkpoint to export (to FILE.onnx beside it)");
        var output = Flag<string?>("--output", "Where to write the ONNX model");
        var opset = Flag<int?>("--opset", $"ONNX opset, {Runtime.Export.OnnxExport.MinimumOpset} to {Runtime.Export.OnnxExport.MaximumOpset} (default: {Runtime.Export.OnnxExport.DefaultOpset})", v => v is < Runtime.Export.OnnxExport.MinimumOpset or > Runtime.Export.OnnxExport.MaximumOpset
                ? $"--opset must be between {Runtime.Export.OnnxExport.MinimumOpset} and {Runtime.Export.OnnxExport.MaximumOpset} (got {v})" : null);
        var command = new Command("export", "Write a checkpoint as an ONNX model (pixels 0..255 in, logits and probabilities out) for ONNX Runtime")
        {
            run, checkpoint, output, opset,
        };
        RunsHosted<ExportJob, ExportOptions>(command, "Export", (parse, o) =>
        {
            o.Run = parse.GetValue(run) ?? o.Run;
            o.Checkpoint = parse.GetValue(checkpoint) ?? o.Checkpoint;
            o.Output = parse.GetValue(output) ?? o.Output;
            o.Opset = parse.GetValue(opset) ?? o.Opset;
        });
        return command;
    }

    private static Command SweepCommand()
    {
        var sweep = new Command("sweep", "Hyperparameter sweeps: plan trials from a sweep file, run them here or as a Slurm or Kubernetes array, report");
        Argument<string> Dir() => new("DIR") { Description = "The sweep directory" };
        Command Action(string name, string description, Argument<string> dir, Option[] flags, Action<ParseResult, Sweeps.SweepOptions> apply)
        {
            var command = new Command(name, description) { dir };
            foreach (var flag in flags)
                command.Options.Add(flag);
            RunsHosted<Sweeps.SweepJob, Sweeps.SweepOptions>(command, "Sweep", (parse, o) =>
            {
                o.Action = name;
                o.Dir = parse.GetValue(dir);
                apply(parse, o);
            });
            return command;
        }

        var file = new Argument<string>("SWEEP") { Description = "The sweep file (JSON: base, grid or random, seeds, metric, goal)" };
        var planDir = Flag<string?>("--dir", "Where the plan and the trials go");
        planDir.HelpName = "DIR";
        var plan = new Command("plan", "Write DIR/sweep.json and DIR/trials.jsonl, one line per trial with its resolved settings") { file, planDir };
        RunsHosted<Sweeps.SweepJob, Sweeps.SweepOptions>(plan, "Sweep", (parse, o) =>
        {
            o.Action = "plan";
            o.File = parse.GetValue(file);
            o.Dir = parse.GetValue(planDir) ?? throw new UsageException("give --dir DIR for the planned sweep");
        });
        sweep.Subcommands.Add(plan);

        var trial = AtLeast("--trial", 0, "The trial to run (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)");
        sweep.Subcommands.Add(Action("run", "Run one trial into DIR/trials/I (skipped when done, resumed when started)", Dir(), [trial],
            (parse, o) => o.Trial = parse.GetValue(trial)));

        var parallel = AtLeast("--parallel", 1, "Trials at once, each with its share of the cores (default: 1)");
        sweep.Subcommands.Add(Action("local", "Run every unfinished trial on this machine", Dir(), [parallel],
            (parse, o) => o.Parallel = parse.GetValue(parallel) ?? o.Parallel));

        // What each trial of a scheduled sweep gets: the same three flags for Slurm and Kubernetes.
        (Option[] Flags, Action<ParseResult, Sweeps.SweepOptions> Apply) PerTask(string maxRunningDescription)
        {
            var cpus = AtLeast("--cpus-per-task", 1, "Cores per trial (default: 1)");
            var gpus = AtLeast("--gpus-per-task", 1, "GPUs per trial (default: none)");
            var maxRunning = AtLeast("--max-running", 1, maxRunningDescription);
            return ([cpus, gpus, maxRunning], (parse, o) =>
            {
                o.CpusPerTask = parse.GetValue(cpus) ?? o.CpusPerTask;
                o.GpusPerTask = parse.GetValue(gpus) ?? o.GpusPerTask;
                o.MaxRunning = parse.GetValue(maxRunning) ?? o.MaxRunning;
            });
        }

        var partition = Flag<string?>("--partition", "Slurm partition");
        partition.HelpName = "P";
        var submit = Flag<bool>("--submit", "Submit the array with sbatch and print the job id");
        var slurmTasks = PerTask("Trials running at once (the array's %M; default: no limit)");
        sweep.Subcommands.Add(Action("slurm", "Write DIR/sweep.sbatch, a Slurm array job of the trials", Dir(), [partition, .. slurmTasks.Flags, submit],
            (parse, o) =>
            {
                o.Partition = parse.GetValue(partition) ?? o.Partition;
                slurmTasks.Apply(parse, o);
                o.Submit |= parse.GetValue(submit);
            }));

        var image = Flag<string?>("--image", "Container image with fashiongpu (default: fashiongpu:latest)");
        image.HelpName = "IMAGE";
        var claim = Flag<string?>("--claim", "PersistentVolumeClaim that holds DIR (default: fashiongpu-sweeps)");
        claim.HelpName = "NAME";
        var podTasks = PerTask("Pods running at once (default: all)");
        sweep.Subcommands.Add(Action("k8s", "Write DIR/sweep-job.yaml, a Kubernetes Indexed Job of the trials", Dir(), [image, claim, .. podTasks.Flags],
            (parse, o) =>
            {
                o.Image = parse.GetValue(image) ?? o.Image;
                o.Claim = parse.GetValue(claim) ?? o.Claim;
                podTasks.Apply(parse, o);
            }));

        var json = Flag<bool>("--json", "Print the report as JSON (trials, best) on stdout");
        sweep.Subcommands.Add(Action("report", "Every trial sorted by the metric, the best one's train command, figures and sweep.html", Dir(), [json],
            (parse, o) => o.Json |= parse.GetValue(json)));
        return sweep;
    }

    private static Command BenchCommand()
    {
        var dataDir = Flag<string?>("--data-dir", "Directory with the training files (same search order as train)");
        var device = DeviceFlag();
        var batchSize = BatchSizeFlag();
        var steps = AtLeast("--steps", 1, "Timed training steps (default: 40 on the CPU accelerator, 500 on a GPU)");
        var json = Flag<bool>("--json", "Print the results as one JSON object on stdout");
        var model = Flag<string?>("--model", "Built-in recipe or model to time (default: seed)");
        var modelFile = Flag<string?>("--model-file", "A model definition (JSON) to time");
        var checkpoint = Flag<string?>("--checkpoint", "Time the model of this checkpoint, from its weights");
        var toAccuracy = Flag<double?>("--to-accuracy", "Instead: train the --model recipe, testing after each epoch, and report the wall time at which test accuracy reached X",
            v => v is not (> 0 and <= 1) ? $"--to-accuracy must be in (0, 1] (got {v})" : null);
        var command = new Command("bench", "Time training steps and evaluation; count launches and syncs; profile each kernel or layer; or time to an accuracy")
        {
            dataDir, device, batchSize, steps, model, modelFile, checkpoint, toAccuracy, json,
        };
        RunsHosted<BenchJob, BenchOptions>(command, "Bench", (parse, o) =>
        {
            o.DataDir = parse.GetValue(dataDir) ?? o.DataDir;
            o.Device = parse.GetValue(device) ?? o.Device;
            o.BatchSize = parse.GetValue(batchSize) ?? o.BatchSize;
            o.Steps = parse.GetValue(steps) ?? o.Steps;
            o.Model = parse.GetValue(model) ?? o.Model;
            o.ModelFile = parse.GetValue(modelFile) ?? o.ModelFile;
            o.Checkpoint = parse.GetValue(checkpoint) ?? o.Checkpoint;
            o.ToAccuracy = parse.GetValue(toAccuracy) ?? o.ToAccuracy;
            o.Json |= parse.GetValue(json);
        });
        return command;
    }

    private static Command DevicesCommand()
    {
        var command = new Command("devices", "List the accelerators ILGPU finds and which one --device auto picks");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("Device", "Name", "Memory", "auto");
            foreach (var d in Runtime.Engines.EngineFactory.Devices())
                table.AddRow(d.Id, Markup.Escape(d.Name), (d.MemoryBytes / (1024.0 * 1024 * 1024)).ToString("F1", CultureInfo.InvariantCulture) + " GiB",
                    d.IsAutoChoice ? "yes" : "");
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }
}
