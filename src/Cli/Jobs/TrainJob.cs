using System.Globalization;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Output;
using FashionGpu.Cli.Reports;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FashionGpu.Cli.Jobs;

/// <summary>`fashiongpu train`: find and check the data, open the device, train, checkpoint; Ctrl+C saves and exits 130.</summary>
public sealed class TrainJob(IOptions<TrainOptions> options, ILogger<TrainJob> logger) : IJob
{
    /// <summary>A flag that would change a resumed run is refused: resuming continues the run exactly.</summary>
    private static void RefuseConflicts(TrainOptions o, RunConfiguration run, string directory)
    {
        var conflicts = TrainFlags.All.Select(f => f.ResumeConflict(o, run, directory)).OfType<string>().ToArray();
        if (conflicts.Length > 0)
            throw new UsageException($"--resume continues {directory} with its own settings; drop {string.Join(", ", conflicts)}, or start a new run");
    }

    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        o.Validate();
        var console = TrainingConsole.Create(o.Json);
        var output = console.Human;
        if (o.ListModels)
        {
            var width = Recipes.All.Select(r => r.Name).Concat(ModelPresets.List.Select(m => m.Name)).Max(n => n.Length);
            Console.Out.WriteLine("recipes (a model and how to train it; flags override any part):");
            foreach (var r in Recipes.All)
                Console.Out.WriteLine($"  {r.Name.PadRight(width)} {r.Description}");
            Console.Out.WriteLine("models (trained with the seed recipe unless flags say otherwise):");
            foreach (var (name, description) in ModelPresets.List)
                Console.Out.WriteLine($"  {name.PadRight(width)} {description}");
            Console.Out.WriteLine("layer kinds of a --model-file (JSON: {\"input\": [1, 28, 28], \"scale\": 0.003921569, \"layers\": [{\"type\": ...}, ...]}):");
            var kindWidth = LayerKinds.All.Max(k => k.Name.Length);
            foreach (var kind in LayerKinds.All)
            {
                var fields = kind.Fields.Select(f => f.Required ? $"{f.Name}" : $"{f.Name}?");
                Console.Out.WriteLine($"  {kind.Name.PadRight(kindWidth)} {kind.Summary}{(kind.Fields.Count > 0 ? $" [fields: {string.Join(", ", fields)}]" : "")}");
            }
            return ExitCodes.Ok;
        }

        CheckpointInfo? resume = null;
        ModelState? resumeState = null;
        ModelPlan model;
        RunLock run;
        if (o.Resume is { } resumeDirectory)
        {
            if (!Directory.Exists(resumeDirectory))
                throw new UsageException($"--resume {resumeDirectory}: no such run directory; give the run directory of an earlier '{CommandName.Value} train'");
            var path = Checkpoint.PathOf(resumeDirectory, "last");
            if (RunLock.IsHeld(resumeDirectory))
                throw new UsageException($"--resume {resumeDirectory}: {RunLock.InUse(resumeDirectory)}");
            if (!File.Exists(path))
                throw new UsageException(File.Exists(Path.Combine(resumeDirectory, "config.json"))
                    ? $"--resume {resumeDirectory}: its run stopped before its first checkpoint, so there is nothing to resume; start it again with --run-dir {resumeDirectory}"
                    : $"--resume {resumeDirectory}: there is no last.safetensors; give the run directory of an earlier '{CommandName.Value} train'");
            if (o.ShapesModel)
                throw new UsageException($"--resume continues the model run {resumeDirectory} was trained with; drop --model, --model-file, --filters, --hidden, --dropout and --pixels");
            var checkpoint = Checkpoint.Load(path);
            (model, resumeState, resume) = (checkpoint.Model, checkpoint.State, checkpoint.Info);
            if (resume is null)
                throw new FashionGpuException($"{path} holds no training position, so it cannot be resumed (evaluate it with --checkpoint)");
            RefuseConflicts(o, resume.Config, resumeDirectory);
            run = RunLock.ForResume(resumeDirectory);
        }
        else
        {
            model = o.ResolveModel();
            run = RunLock.ForNewRun(o.RunDir);
        }
        using var _ = run;
        var runDirectory = run.Directory;
        if (run.Restarted)
            output.WriteLine($"note: {runDirectory} holds a run that stopped before its first checkpoint; starting it again");

        var dataDirectory = o.DataDir ?? (resume is not null && Directory.Exists(resume.Config.DataDirectory) ? resume.Config.DataDirectory : null);
        var source = DataLocator.Locate(dataDirectory, [Split.Train]);
        if (o.DataDir is null && dataDirectory is not null)
            source = source with { Origin = DataOrigin.Resumed };
        var loading = new DataLoading(source, Split.Train);

        var recipe = o.Recipe;
        var config = resume?.Config ?? new RunConfiguration
        {
            Model = model.Definition, Recipe = recipe.Name, Settings = o.ResolveSettings(), Epochs = o.Epochs ?? recipe.Epochs,
            ValidationSplit = o.ValidationSplit ?? recipe.ValidationSplit, LimitTrain = o.LimitTrain, Patience = o.Patience ?? recipe.Patience,
        };
        // A resumed run continues on its own device unless --device says otherwise, which is said out loud.
        var device = resume is not null && !o.FromCommandLine.Contains("--device") && resume.Config.Device.Length > 0 ? resume.Config.Device : o.Device;
        using var engine = loading.OpenEngine(() => EngineFactory.Open(DeviceSpec.Parse(device), model, config.Settings));
        var loaded = loading.Splits[0];
        RunAnnouncer.Data(output, source, loaded);
        if (config.Patience is not null && config.ValidationSplit == 0)
            throw new UsageException("--patience stops on validation accuracy, and --validation-split 0 leaves no validation set; drop one of them");
        if (resume is not null)
        {
            if (resume.Config.TrainPixelsSha256 != loaded.PixelsSha256 || resume.Config.TrainLabelsSha256 != loaded.LabelsSha256)
                throw new FashionGpuException($"the training data in {source.Directory} is not the data run {runDirectory} was trained on (checksums differ); point --data-dir at the original data");
            if (o.Epochs is { } more)
                config = config with { Epochs = more };
            if (resume.Epoch >= config.Epochs)
                throw new UsageException($"{runDirectory} has already trained {resume.Epoch} of {config.Epochs} epochs; pass --epochs N (N > {resume.Epoch}) to train further");
        }
        config = config with
        {
            DataDirectory = source.Directory, DataOrigin = source.Origin.ToString(), DataVerification = loaded.Verification,
            TrainPixelsSha256 = loaded.PixelsSha256, TrainLabelsSha256 = loaded.LabelsSha256,
        };
        var images = config.LimitTrain is { } limit ? loaded.Data.Take(limit) : loaded.Data;

        output.Write(model.Summary());
        output.WriteLine($"recipe: {config.RecipeLine}");
        if (resume is not null && resume.Config.Device.Length > 0 && engine.DeviceId != resume.Config.Device)
            output.WriteLine($"warning: {runDirectory} was trained on {resume.Config.Device} and continues on {engine.DeviceId}; the result will not be bit-identical to an uninterrupted run");
        config = config with { Device = engine.DeviceId };
        if (resume is not null && config != resume.Config)
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "config.json"), System.Text.Json.JsonSerializer.Serialize(config, CheckpointInfo.Json) + "\n");
        output.WriteLine($"device: {engine.DeviceId} ({engine.DeviceName})");
        if (resumeState is not null)
            engine.LoadState(resumeState);
        var trainer = new Trainer(engine) { CheckpointEvery = o.CheckpointEvery ?? 1 };
        var split = (int)Math.Round(images.Count * config.ValidationSplit);
        output.WriteLine(resume is null
            ? $"run: {runDirectory}; {images.Count - split:N0} training + {split:N0} validation images, {config.Epochs} epoch{(config.Epochs == 1 ? "" : "s")} of batch {config.Settings.BatchSize}, " +
              $"{(model.PixelScale == 1f ? "raw 0..255 pixels" : model.PixelScale == ModelDefinition.ScaledPixels ? "pixels scaled to [0, 1]" : string.Create(CultureInfo.InvariantCulture, $"pixels × {model.PixelScale:0.#########}"))}, seed {config.Settings.Seed}"
            : $"run: resuming {runDirectory} at epoch {resume.Epoch + 1}, sample {resume.Position:N0} (step {resume.Step:N0})");
        if (trainer.CheckpointEvery > 1)
            output.WriteLine($"checkpoints: after every {trainer.CheckpointEvery} epochs and the last (--checkpoint-every); a crash loses the epochs since");
        logger.LogDebug("configuration {@Config}", config);

        var result = console.Run(observer => trainer.Run(images, config, runDirectory, resume, observer, stopping));
        if (result.Outcome == TrainOutcome.Interrupted)
        {
            // No report: writing its figures could outlast the stop grace, and the run is not finished.
            output.WriteLine(result.Last.Step > 0
                ? $"interrupted: saved {Checkpoint.PathOf(runDirectory, "last")} (epoch {result.Last.Epoch + 1}, sample {result.Last.Position:N0}). " +
                  $"Resume with: {CommandName.Value} train --resume {runDirectory}"
                : $"interrupted before the first step; nothing was saved");
            return ExitCodes.Interrupted;
        }
        RunReports.WriteQuietly(runDirectory, o.DataDir, output);
        if (result.Outcome == TrainOutcome.StoppedEarly)
            output.WriteLine($"stopped early: {config.Patience} epoch{(config.Patience == 1 ? "" : "s")} without a better validation accuracy (--patience)");
        output.WriteLine((result.Last.BestValidationAccuracy is { } best
            ? string.Create(CultureInfo.InvariantCulture, $"done: best validation accuracy {best:F4} (epoch {result.Last.BestEpoch}); checkpoints in {runDirectory}. ")
            : $"done: trained on every image (no validation set; best is the last epoch); checkpoints in {runDirectory}. ") +
            $"Evaluate with: {CommandName.Value} evaluate --run {runDirectory}" +
            (Recipes.Find(config.Recipe) is { Tta: not "none" } quoted ? $" --tta {quoted.Tta} (the {quoted.Name} recipe's accuracy is quoted with it)" : ""));
        return ExitCodes.Ok;
    }
}
