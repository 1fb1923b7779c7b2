using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// `fashiongpu bench --to-accuracy X`: trains a recipe as `train` would (in a scratch run directory), evaluates the
/// test set after every epoch, and reports the wall time, from the command's start with data loading included and the
/// tests of earlier epochs left out, at which test accuracy (or its TTA accuracy) first reached X, or that it did
/// not within the recipe's epochs.
/// </summary>
internal static class TimeToAccuracy
{
    /// <summary>An epoch's test accuracy, its TTA accuracy (null without TTA), and the wall time once both were known.</summary>
    private sealed record EpochRow(int Epoch, double TestAccuracy, double? TtaAccuracy, double Seconds)
    {
        public double Judged => TtaAccuracy ?? TestAccuracy;
    }

    public static int Run(BenchOptions o, double target, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        var human = o.Json ? Console.Error : Console.Out;
        if (o.Checkpoint is not null)
            throw new UsageException("--to-accuracy trains from scratch; drop --checkpoint");
        var recipe = Recipes.Of(o.Model);
        var model = new ModelChoice(Recipes.ModelNamed(o.Model), o.ModelFile).Resolve();
        var settings = recipe.Settings with { BatchSize = o.BatchSize ?? recipe.Settings.BatchSize, Seed = o.Seed ?? recipe.Settings.Seed };
        var tta = TestTimeAugmentation.Parse(o.Tta ?? recipe.Tta);
        var trainSource = DataLocator.Locate(o.DataDir, [Split.Train, Split.Test]);
        var loading = new DataLoading(trainSource, Split.Train, Split.Test);
        using var engine = loading.OpenEngine(() => EngineFactory.Open(DeviceSpec.Parse(o.Device), model, settings));
        var (train, test) = (loading.Splits[0], loading.Splits[1]);
        RunAnnouncer.Data(human, trainSource, train);
        var config = new RunConfiguration
        {
            Model = model.Definition, Recipe = recipe.Name, Settings = settings, Epochs = recipe.Epochs, ValidationSplit = recipe.ValidationSplit,
            Patience = recipe.Patience, Device = engine.DeviceId,
        };
        var judged = tta.IsNone ? "test accuracy" : $"test accuracy with {tta} TTA";
        human.WriteLine($"device: {engine.DeviceId} ({engine.DeviceName}); recipe: {config.RecipeLine}, seed {settings.Seed}; target: {judged} {target.ToString("F4", CultureInfo.InvariantCulture)}");
        using var testData = engine.Upload(test.Data);
        var scratch = Directory.CreateTempSubdirectory("fashiongpu-bench-");
        using var reached = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var rows = new List<EpochRow>();
        try
        {
            // Testing an epoch that falls short is bench's own observation, which `train` never pays: it is left out of
            // the time of every later epoch.
            var observing = TimeSpan.Zero;
            var indices = Enumerable.Range(0, test.Data.Count).ToArray();
            var observer = new EpochEnd(metrics =>
            {
                var testStart = clock.Elapsed;
                var logits = engine.Logits(testData, indices);
                var (_, accuracy, _) = LogitMetrics.Evaluate(logits, test.Data.Labels);
                double? augmented = tta.IsNone ? null : LogitMetrics.Evaluate(Evaluator.Logits(engine, testData, indices, tta, logits, stopping), test.Data.Labels).Accuracy;
                var row = new EpochRow(metrics.Epoch, accuracy, augmented, (clock.Elapsed - observing).TotalSeconds);
                observing += clock.Elapsed - testStart;
                rows.Add(row);
                human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {metrics.Epoch}/{metrics.Epochs}: test accuracy {accuracy:F4}{(augmented is { } a ? $", with {tta} TTA {a:F4}" : "")} at {row.Seconds:F1} s"));
                if (row.Judged >= target)
                    reached.Cancel();
            });
            new Trainer(engine).Run(train.Data, config, scratch.FullName, null, observer, reached.Token);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        if (stopping.IsCancellationRequested)
            return ExitCodes.Interrupted;
        var first = rows.FirstOrDefault(r => r.Judged >= target);
        var result = new
        {
            device = engine.DeviceId,
            device_name = engine.DeviceName,
            recipe = config.RecipeLine,
            seed = settings.Seed,
            tta = tta.ToString(),
            target,
            reached = first is not null,
            epoch = first?.Epoch,
            seconds = first?.Seconds,
            peer_seconds = o.PeerSeconds,
            peer_ratio = first is not null && o.PeerSeconds is { } p ? p / first.Seconds : (double?)null,
            epochs = rows.Select(r => new { epoch = r.Epoch, test_accuracy = r.TestAccuracy, tta_accuracy = r.TtaAccuracy, seconds = r.Seconds }).ToArray(),
        };
        if (o.Json)
            Console.Out.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        else
            Console.Out.WriteLine(first is not null
                ? string.Create(CultureInfo.InvariantCulture, $"reached {judged} {first.Judged:F4} ≥ {target:F4} after epoch {first.Epoch}: {first.Seconds:F1} s wall time, data loading and this test included, the tests of earlier epochs not") +
                  (o.PeerSeconds is { } peer ? string.Create(CultureInfo.InvariantCulture, $"; the peer's {peer:F1} s is {peer / first.Seconds:F2}x that") : "")
                : string.Create(CultureInfo.InvariantCulture, $"did not reach {target:F4} in {config.Epochs} epochs (best {judged} {rows.Max(r => r.Judged):F4}; {clock.Elapsed.TotalSeconds:F1} s)"));
        return ExitCodes.Ok;
    }

    private sealed class EpochEnd(Action<EpochMetrics> finished) : ITrainingObserver
    {
        public void EpochStarted(int epoch, int epochs, int samples, int position) { }
        public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) { }
        public void EpochFinished(EpochMetrics metrics) => finished(metrics);
    }
}
