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
                : $"error: {string.Join(" ", parse.Errors[0].Message.Split('\n').Select(line => line.Trim()))}");
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

    private static Option<T> Flag<T>(string name, string description, Func<T, string?>? check = null) => FlagFactory.Create(name, description, check);

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

    private static Option<int?> AtLeast(string name, int minimum, string description) =>
        Flag<int?>(name, description, v => v < minimum ? $"{name} must be at least {minimum} (got {v})" : null);

    private static Command TrainCommand()
    {
        var command = new Command("train", "Train a model (the seed model by default); Ctrl+C saves a resumable checkpoint");
        foreach (var flag in TrainFlags.All)
            command.Options.Add(flag.Option);
        RunsHosted<TrainJob, TrainOptions>(command, "Train", (parse, o) =>
        {
            foreach (var flag in TrainFlags.All)
                flag.Apply(parse, o);
            o.FromCommandLine = command.Options.Where(option => parse.GetResult(option) is not null).Select(option => option.Name).ToHashSet();
        });
        return command;
    }

    private static Command EvaluateCommand()
    {
        var run = Flag<string?>("--run", "Run directory: evaluates its best.safetensors");
        var checkpoint = Flag<string?>("--checkpoint", "A .safetensors checkpoint to evaluate");
        var dataDir = Flag<string?>("--data-dir", "Directory with the test files (same search order as train)");
        var device = DeviceFlag();
        var output = Flag<string?>("--output", "Write the text report here and the JSON beside it (.json); a FILE ending in .json takes the JSON, the text goes beside it (.txt). Default: report.txt in the run directory");
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

    private static Option<string?> TtaFlag(string description = "Test-time augmentation: none (the default), flip (each image's probabilities averaged with its mirror's), shift (with its one-pixel diagonal translations) or flip,shift (six views); evaluate reports it beside the model's own accuracy")
    {
        var tta = Flag<string?>("--tta", description);
        tta.AcceptOnlyFromAmong(Runtime.Evaluation.TestTimeAugmentation.Choices);
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
        var steps = AtLeast("--steps", 1, "Timed training steps (default: 40 on the CPU accelerator, 300 elsewhere)");
        var json = Flag<bool>("--json", "Print the results as one JSON object on stdout");
        var model = Flag<string?>("--model", "Built-in recipe or model to time (default: seed)");
        var modelFile = Flag<string?>("--model-file", "A model definition (JSON) to time");
        var checkpoint = Flag<string?>("--checkpoint", "Time the model of this checkpoint, from its weights");
        var toAccuracy = Flag<double?>("--to-accuracy", "Instead: train the --model recipe, testing after each epoch, and report the wall time at which test accuracy reached X",
            v => v is not (> 0 and <= 1) ? $"--to-accuracy must be in (0, 1] (got {v})" : null);
        var tta = TtaFlag("With --to-accuracy: judge the target on this test-time augmentation's accuracy (default: the recipe's)");
        var seed = Flag<ulong?>("--seed", "With --to-accuracy: the seed to train with (default: 42)");
        var peerSeconds = Flag<double?>("--peer-seconds", "With --to-accuracy: a peer's seconds to the same accuracy, printed beside ours with the ratio",
            v => v is not > 0 || !double.IsFinite(v.Value) ? $"--peer-seconds must be a positive number of seconds (got {v})" : null);
        var command = new Command("bench", "Time training steps and evaluation; count launches and syncs; profile each kernel or layer; or time to an accuracy")
        {
            dataDir, device, batchSize, steps, model, modelFile, checkpoint, toAccuracy, tta, seed, peerSeconds, json,
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
            o.Tta = parse.GetValue(tta) ?? o.Tta;
            o.Seed = parse.GetValue(seed) ?? o.Seed;
            o.PeerSeconds = parse.GetValue(peerSeconds) ?? o.PeerSeconds;
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
