using System.Diagnostics;
using System.Text.Json;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Training;

public enum TrainOutcome
{
    Completed,
    Interrupted,
    /// <summary>--patience epochs passed without a better validation accuracy.</summary>
    StoppedEarly,
}

public sealed record TrainResult(TrainOutcome Outcome, IReadOnlyList<EpochMetrics> Epochs, CheckpointInfo Last);

/// <summary>
/// The training loop: epochs of shuffled batches through an <see cref="IEngine"/>, validation after each epoch, and
/// checkpoints in the run directory: `last` after every <see cref="CheckpointEvery"/>th epoch, the final one, an early
/// stop and an interruption; `best` with it when the best validation accuracy changed since. Checkpoints are written
/// in the background while the next epoch trains, and the run returns only once they are on disk. It reads results
/// back from the device only to report progress (at most every <see cref="ProgressInterval"/>), at the end of an
/// epoch, and for a checkpoint. Cancellation stops after the current step, saves `last` with the position inside the
/// epoch, and returns <see cref="TrainOutcome.Interrupted"/>.
/// </summary>
public sealed class Trainer(IEngine engine)
{
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Epochs between checkpoints (1: every epoch). A crash loses at most the epochs since the last one.</summary>
    public int CheckpointEvery { get; init; } = 1;

    public TrainResult Run(LabeledImages trainingSet, RunConfiguration config, string runDirectory, CheckpointInfo? resume,
        ITrainingObserver observer, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(CheckpointEvery, 1);
        var writer = new CheckpointWriter();
        TrainResult result;
        try
        {
            result = Train(trainingSet, config, runDirectory, resume, observer, writer, cancellation);
        }
        catch
        {
            writer.FinishQuietly();
            throw;
        }
        writer.Finish();
        return result;
    }

    private TrainResult Train(LabeledImages trainingSet, RunConfiguration config, string runDirectory, CheckpointInfo? resume,
        ITrainingObserver observer, CheckpointWriter writer, CancellationToken cancellation)
    {
        var settings = config.Settings;
        var (train, validation) = DataSplit.Create(trainingSet.Count, config.ValidationSplit, settings.Seed);
        if (train.Length == 0)
            throw new FashionGpuException($"no training images left after holding out {config.ValidationSplit:P0} of {trainingSet.Count}; lower --validation-split or raise --limit-train");
        var validationLabels = validation.Select(i => trainingSet.Labels[i]).ToArray();
        var stepsPerEpoch = (train.Length + settings.BatchSize - 1) / settings.BatchSize;
        config = config with { StepsPerEpoch = stepsPerEpoch };
        var schedule = LearningRateSchedule.For(settings, config.Epochs, stepsPerEpoch);
        Directory.CreateDirectory(runDirectory);
        var metricsPath = Path.Combine(runDirectory, "metrics.jsonl");
        if (resume is null)
        {
            AtomicFile.WriteAllText(Path.Combine(runDirectory, "config.json"), JsonSerializer.Serialize(config, CheckpointInfo.Json) + "\n");
            AtomicFile.WriteAllText(metricsPath, "");
        }
        else if (File.Exists(metricsPath))
        {
            // Lines of epochs after the checkpoint being resumed (written just before a crash) are trained again.
            AtomicFile.WriteAllText(metricsPath, string.Concat(MetricsLines(metricsPath).Where(l => l.Epoch <= resume.Epoch).Select(l => l.Text + "\n")));
        }

        using var data = engine.Upload(trainingSet);
        var epoch = resume?.Epoch ?? 0;
        var position = resume?.Position ?? 0;
        var carried = new EpochTotals(resume?.PartialLossSum ?? 0, resume?.PartialCorrect ?? 0, position);
        var hasValidation = validation.Length > 0;
        var tracker = new ValidationTracker(config.Patience, resume?.BestValidationAccuracy, resume?.BestEpoch ?? 0);
        var step = resume?.Step ?? 0;
        var rate = 0.0;
        var history = new List<EpochMetrics>();
        var last = resume ?? new CheckpointInfo { Config = config };

        // A new best waits here, as a copy read from the device, until `last` is written; it goes to disk first, so that
        // `last` never names a best epoch whose checkpoint is not there yet.
        (ModelState State, CheckpointInfo Info)? unsavedBest = null;

        CheckpointInfo Describe(ModelState state, int savedEpoch, int savedPosition, EpochTotals partial, double? validationAccuracy) => new()
        {
            Epoch = savedEpoch, Position = savedPosition, Step = state.Step, PartialLossSum = partial.LossSum,
            PartialCorrect = partial.Correct, ValidationAccuracy = validationAccuracy, BestValidationAccuracy = hasValidation ? tracker.Best : null,
            BestEpoch = tracker.BestEpoch, Config = config, SavedAt = DateTimeOffset.UtcNow,
        };

        CheckpointInfo SaveLast(ModelState state, int savedEpoch, int savedPosition, EpochTotals partial, double? validationAccuracy)
        {
            var info = Describe(state, savedEpoch, savedPosition, partial, validationAccuracy);
            var best = unsavedBest;
            unsavedBest = null;
            writer.Start(() =>
            {
                if (best is var (bestState, bestInfo))
                    Checkpoint.Save(runDirectory, "best", engine.Model, bestState, bestInfo);
                Checkpoint.Save(runDirectory, "last", engine.Model, state, info);
            });
            return info;
        }

        if (hasValidation && tracker.ShouldStop(epoch))
            return new TrainResult(TrainOutcome.StoppedEarly, history, last);
        while (epoch < config.Epochs)
        {
            var order = DataSplit.EpochOrder(train, settings.Seed, epoch);
            engine.BeginEpoch(data, order, epoch);
            observer.EpochStarted(epoch + 1, config.Epochs, order.Length, position);
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            var start = position;
            while (start < order.Length)
            {
                var count = Math.Min(settings.BatchSize, order.Length - start);
                rate = schedule.RateAt(++step);
                engine.TrainStep(start, count, rate);
                start += count;
                var interrupted = cancellation.IsCancellationRequested && start < order.Length;
                if (interrupted || start == order.Length || clock.Elapsed - lastReport >= ProgressInterval)
                {
                    var soFar = carried + engine.ReadEpochTotals(position, start);
                    EnsureFinite(soFar.LossSum, epoch + 1, start, runDirectory, last);
                    EnsureFiniteWeights(epoch + 1, start, runDirectory, last);
                    lastReport = clock.Elapsed;
                    observer.Progress(epoch + 1, start, order.Length, soFar, (start - position) / clock.Elapsed.TotalSeconds);
                    if (interrupted)
                    {
                        last = SaveLast(engine.ReadState(), epoch, start, soFar, null);
                        return new TrainResult(TrainOutcome.Interrupted, history, last);
                    }
                }
            }
            var trainSeconds = clock.Elapsed.TotalSeconds;
            var totals = carried + engine.ReadEpochTotals(position, order.Length);
            EnsureFiniteWeights(epoch + 1, order.Length, runDirectory, last);
            // Without a validation set (--validation-split 0) there is no validation figure at all, and `best` is the last epoch.
            double? validationLoss = null, validationAccuracy = null;
            if (hasValidation)
                (validationLoss, validationAccuracy, _) = LogitMetrics.Evaluate(engine.Logits(data, validation), validationLabels);
            EnsureFinite(totals.LossSum + (validationLoss ?? 0), epoch + 1, order.Length, runDirectory, last);
            epoch++;
            var isBest = tracker.Observe(epoch, validationAccuracy);
            var stopsEarly = hasValidation && epoch < config.Epochs && tracker.ShouldStop(epoch);
            var cancelled = cancellation.IsCancellationRequested && epoch < config.Epochs;
            var checkpoint = epoch % CheckpointEvery == 0 || epoch == config.Epochs || stopsEarly || cancelled;
            var state = checkpoint || isBest ? engine.ReadState() : null;
            var metrics = new EpochMetrics(epoch, config.Epochs, step, totals.MeanLoss, totals.Accuracy, validationLoss,
                validationAccuracy, clock.Elapsed.TotalSeconds, (order.Length - position) / trainSeconds, isBest, rate);
            // The epoch's line goes in before its checkpoints: a crash in between leaves a line a resume drops, never
            // a checkpoint whose epoch has no line.
            File.AppendAllText(metricsPath, JsonSerializer.Serialize(metrics, MetricsJson) + "\n");
            if (isBest)
                unsavedBest = (state!, Describe(state!, epoch, 0, default, validationAccuracy));
            if (checkpoint)
                last = SaveLast(state!, epoch, 0, default, validationAccuracy);
            history.Add(metrics);
            observer.EpochFinished(metrics);
            position = 0;
            carried = default;
            if (stopsEarly)
                return new TrainResult(TrainOutcome.StoppedEarly, history, last);
            if (cancelled)
                return new TrainResult(TrainOutcome.Interrupted, history, last);
        }
        return new TrainResult(TrainOutcome.Completed, history, last);
    }

    /// <summary>
    /// metrics.jsonl's lines with their epochs. A last line without its newline is a write cut short by a crash (the
    /// line goes in before the epoch's checkpoint, so no checkpoint depends on it): it is dropped. Any other line that
    /// is not an epoch's JSON is an error naming it.
    /// </summary>
    private static IEnumerable<(string Text, int Epoch)> MetricsLines(string path)
    {
        var text = File.ReadAllText(path);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
                continue;
            int? epoch = null;
            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("epoch", out var e)
                    && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n))
                    epoch = n;
            }
            catch (JsonException)
            {
            }
            if (epoch is { } found)
                yield return (line, found);
            else if (i < lines.Length - 1)
                throw new FashionGpuException($"{path}: line {i + 1} is not an epoch's metrics ({(line.Length > 60 ? line[..60] + "…" : line)}); delete that line or fix it, then resume");
        }
    }

    public static readonly JsonSerializerOptions MetricsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static void EnsureFinite(double loss, int epoch, int sample, string runDirectory, CheckpointInfo last)
    {
        if (!double.IsFinite(loss))
            throw Diverged($"the loss became {(double.IsNaN(loss) ? "NaN" : "infinite")}", epoch, sample, runDirectory, last);
    }

    /// <summary>A weight that became NaN or infinite stops the run even while the loss still looks finite.</summary>
    private void EnsureFiniteWeights(int epoch, int sample, string runDirectory, CheckpointInfo last)
    {
        if (engine.ParametersDiverged)
            throw Diverged("a weight became NaN or infinite", epoch, sample, runDirectory, last);
    }

    private static TrainingDivergedException Diverged(string what, int epoch, int sample, string runDirectory, CheckpointInfo last)
    {
        var kept = last.Step > 0
            ? $"the last good checkpoint ({Checkpoint.PathOf(runDirectory, "last")}, epoch {last.Epoch}) is kept"
            : "no checkpoint was written yet";
        return new TrainingDivergedException($"{what} in epoch {epoch} by sample {sample}; {kept}; try a lower --learning-rate");
    }
}
