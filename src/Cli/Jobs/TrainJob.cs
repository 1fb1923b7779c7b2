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
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        o.Validate();
        var console = TrainingConsole.Create(o.Json);
        var output = console.Human;
        if (o.ListModels)
        {
            foreach (var (name, description) in ModelPresets.List)
                Console.Out.WriteLine($"{name,-6} {description}");
            return ExitCodes.Ok;
        }

        CheckpointInfo? resume = null;
        ModelState? resumeState = null;
        ModelPlan model;
        string runDirectory;
        if (o.Resume is { } resumeDirectory)
        {
            var path = Checkpoint.PathOf(resumeDirectory, "last");
            if (!File.Exists(path))
                throw new UsageException($"--resume {resumeDirectory}: there is no last.safetensors; give the run directory of an earlier 'fashiongpu train'");
            if (o.ShapesModel)
                throw new UsageException($"--resume continues the model run {resumeDirectory} was trained with; drop --model, --model-file, --filters, --hidden, --dropout and --pixels");
            var checkpoint = Checkpoint.Load(path);
            (model, resumeState, resume) = (checkpoint.Model, checkpoint.State, checkpoint.Info);
            if (resume is null)
                throw new FashionGpuException($"{path} holds no training position, so it cannot be resumed (evaluate it with --checkpoint)");
            runDirectory = resumeDirectory;
        }
        else
        {
            runDirectory = o.RunDir ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            if (File.Exists(Path.Combine(runDirectory, "config.json")) || File.Exists(Checkpoint.PathOf(runDirectory, "last")))
                throw new UsageException($"{runDirectory} already holds a run; choose another --run-dir, or continue it with --resume {runDirectory}");
            model = o.ResolveModel();
        }

        var dataDirectory = o.DataDir ?? (resume is not null && Directory.Exists(resume.Config.DataDirectory) ? resume.Config.DataDirectory : null);
        var source = DataLocator.Locate(dataDirectory, [Split.Train]);
        var loaded = FashionMnist.Load(source, Split.Train);
        RunAnnouncer.Data(output, source, loaded);

        var config = resume?.Config ?? new RunConfiguration
        {
            Model = model.Definition,
            Settings = new TrainingSettings { BatchSize = o.BatchSize, LearningRate = o.LearningRate, Seed = o.Seed },
            Epochs = o.Epochs, ValidationSplit = o.ValidationSplit, LimitTrain = o.LimitTrain,
        };
        if (resume is not null)
        {
            if (resume.Config.TrainPixelsSha256 != loaded.PixelsSha256 || resume.Config.TrainLabelsSha256 != loaded.LabelsSha256)
                throw new FashionGpuException($"the training data in {source.Directory} is not the data run {runDirectory} was trained on (checksums differ); point --data-dir at the original data");
            if (o.EpochsFromFlag)
                config = config with { Epochs = o.Epochs };
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
        using var engine = EngineFactory.Open(DeviceSpec.Parse(o.Device), model, config.Settings);
        config = config with { Device = engine.DeviceId };
        output.WriteLine($"device: {engine.DeviceId} ({engine.DeviceName})");
        if (resumeState is not null)
            engine.LoadState(resumeState);
        var split = (int)Math.Round(images.Count * config.ValidationSplit);
        output.WriteLine(resume is null
            ? $"run: {runDirectory}; {images.Count - split:N0} training + {split:N0} validation images, {config.Epochs} epoch{(config.Epochs == 1 ? "" : "s")} of batch {config.Settings.BatchSize}, " +
              $"{(model.PixelScale == 1f ? "raw 0..255 pixels" : "pixels scaled to [0, 1]")}, seed {config.Settings.Seed}"
            : $"run: resuming {runDirectory} at epoch {resume.Epoch + 1}, sample {resume.Position:N0} (step {resume.Step:N0})");
        logger.LogDebug("configuration {@Config}", config);

        var trainer = new Trainer(engine);
        var result = console.Run(observer => trainer.Run(images, config, runDirectory, resume, observer, stopping));
        RunReports.WriteQuietly(runDirectory, o.DataDir, output);
        if (result.Outcome == TrainOutcome.Interrupted)
        {
            output.WriteLine($"interrupted: saved {Checkpoint.PathOf(runDirectory, "last")} (epoch {result.Last.Epoch + 1}, sample {result.Last.Position:N0}). " +
                $"Resume with: fashiongpu train --resume {runDirectory}");
            return ExitCodes.Interrupted;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: best validation accuracy {result.Last.BestValidationAccuracy:F4} (epoch {result.Last.BestEpoch}); checkpoints in {runDirectory}. " +
            $"Evaluate with: fashiongpu evaluate --run {runDirectory}"));
        return ExitCodes.Ok;
    }
}
