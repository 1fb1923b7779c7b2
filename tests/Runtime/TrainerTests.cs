using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

/// <summary>Short training runs on the bundled sample, on the CPU accelerator.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class TrainerTests(CpuDeviceFixture gpu) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly LabeledImages Sample =
        SampleData.Train;

    private static RunConfiguration Config(int epochs, double learningRate = 1e-3) => new()
    {
        Settings = new TrainingSettings { BatchSize = 32, Seed = 5, LearningRate = learningRate },
        Epochs = epochs, ValidationSplit = 0.25,
    };

    [Fact]
    public void Training_on_the_sample_lowers_the_loss_and_beats_chance()
    {
        using var engine = new IlgpuEngine(gpu.Device, Models.Seed, Config(2).Settings);
        var result = new Trainer(engine).Run(Sample.Take(640), Config(2), _temp.Path, null, NullTrainingObserver.Instance, CancellationToken.None);

        Assert.Equal(TrainOutcome.Completed, result.Outcome);
        Assert.Equal(2, result.Epochs.Count);
        Assert.True(result.Epochs[1].TrainLoss < result.Epochs[0].TrainLoss,
            $"loss went from {result.Epochs[0].TrainLoss} to {result.Epochs[1].TrainLoss}");
        Assert.True(result.Epochs[1].ValidationAccuracy > 0.4, $"validation accuracy {result.Epochs[1].ValidationAccuracy}");
        Assert.Equal(2 * 15, result.Last.Step);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_temp.Path, "metrics.jsonl")).Length);
        foreach (var file in new[] { "config.json", "last.safetensors", "last.json", "best.safetensors", "best.json" })
            Assert.True(File.Exists(Path.Combine(_temp.Path, file)), file);
    }

    /// <summary>Every recipe feature at once: AdamW with weight decay, one-cycle with warmup, label smoothing, all augmentations.</summary>
    private static readonly TrainingSettings EveryFeature = new()
    {
        BatchSize = 32, Seed = 5, LearningRate = 3e-3, Optimizer = "adamw", WeightDecay = 0.05, Schedule = "onecycle", WarmupEpochs = 0.5,
        LabelSmoothing = 0.1, Augment = "flip,shift:2,erase",
    };

    [Theory]
    [InlineData("reference")]
    [InlineData("adamw-onecycle-smoothing-augment")]
    [InlineData("sgd-cosine")]
    [InlineData("ema-flip-alternate")]
    public void An_interrupted_run_resumed_ends_with_the_same_bits_as_an_uninterrupted_one(string recipe)
    {
        var images = Sample.Take(256);
        var config = recipe switch
        {
            "reference" => Config(2),
            "ema-flip-alternate" => Config(2) with { Settings = EveryFeature with { Ema = 0.9, Augment = "flip-alternate,shift:1" } },
            "sgd-cosine" => Config(2) with { Settings = new TrainingSettings { BatchSize = 32, Seed = 5, LearningRate = 0.05, Optimizer = "sgd", WeightDecay = 5e-4, Schedule = "cosine", WarmupEpochs = 1 } },
            _ => Config(2) with { Settings = EveryFeature },
        };
        var straight = Path.Combine(_temp.Path, "straight");
        var interrupted = Path.Combine(_temp.Path, "interrupted");

        ModelState expected;
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings))
        {
            new Trainer(engine).Run(images, config, straight, null, NullTrainingObserver.Instance, CancellationToken.None);
            expected = engine.ReadState();
        }

        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings))
        using (var cancel = new CancellationTokenSource())
        {
            var trainer = new Trainer(engine) { ProgressInterval = TimeSpan.Zero };
            var first = trainer.Run(images, config, interrupted, null, new CancelAt(2, 96, cancel), cancel.Token);
            Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
            // Cancelled once 96 samples were reported: the step under way (to 128) finishes, then `last` is saved.
            Assert.Equal((1, 128), (first.Last.Epoch, first.Last.Position));
        }

        var (_, state, info) = Checkpoint.Load(Checkpoint.PathOf(interrupted, "last"));
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, info!.Config.Settings))
        {
            engine.LoadState(state);
            var resumed = new Trainer(engine).Run(images, info.Config, interrupted, info, NullTrainingObserver.Instance, CancellationToken.None);
            Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
            var actual = engine.ReadState();
            Assert.Equal(expected.Step, actual.Step);
            Assert.True(expected.Parameters.AsSpan().SequenceEqual(actual.Parameters), "parameters differ after resuming");
            Assert.True(expected.FirstMoment.AsSpan().SequenceEqual(actual.FirstMoment), "Adam's m differs after resuming");
            Assert.True(expected.SecondMoment.AsSpan().SequenceEqual(actual.SecondMoment), "Adam's v differs after resuming");
            Assert.Equal(config.Settings.Ema > 0, actual.Average is not null);
            if (actual.Average is not null)
                Assert.True(expected.Average.AsSpan().SequenceEqual(actual.Average), "the weight average differs after resuming");
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(straight, "metrics.jsonl"))[1].Split("\"seconds\"")[0],
            File.ReadAllLines(Path.Combine(interrupted, "metrics.jsonl"))[1].Split("\"seconds\"")[0]);
    }

    /// <summary>
    /// With checkpoints every third epoch, epochs 1 and 2 write nothing; Ctrl+C in epoch 3 writes `last` and the best
    /// epoch held back since; resumed, the run ends with the same `last` and `best` as a run that saved every epoch.
    /// </summary>
    [Fact]
    public void Checkpoints_every_third_epoch_end_with_the_files_of_every_epochs_and_keep_the_best_on_ctrl_c()
    {
        var images = Sample.Take(256);
        var config = Config(4);
        var everyEpoch = Path.Combine(_temp.Path, "every-epoch");
        var everyThird = Path.Combine(_temp.Path, "every-third");
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings))
            new Trainer(engine).Run(images, config, everyEpoch, null, NullTrainingObserver.Instance, CancellationToken.None);

        var lastAfterEpoch = new List<bool>();
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings))
        using (var cancel = new CancellationTokenSource())
        {
            var observer = new ObserveEpochs(_ => lastAfterEpoch.Add(File.Exists(Checkpoint.PathOf(everyThird, "last"))), new CancelAt(3, 96, cancel));
            var trainer = new Trainer(engine) { ProgressInterval = TimeSpan.Zero, CheckpointEvery = 3 };
            var first = trainer.Run(images, config, everyThird, null, observer, cancel.Token);
            Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
            Assert.Equal((2, 128), (first.Last.Epoch, first.Last.Position));
        }
        Assert.Equal([false, false], lastAfterEpoch);
        var (_, _, interruptedInfo) = Checkpoint.Load(Checkpoint.PathOf(everyThird, "last"));
        var (_, _, heldBackBest) = Checkpoint.Load(Checkpoint.PathOf(everyThird, "best"));
        Assert.InRange(interruptedInfo!.BestEpoch, 1, 2);
        Assert.Equal(interruptedInfo.BestEpoch, heldBackBest!.Epoch);

        var (_, state, info) = Checkpoint.Load(Checkpoint.PathOf(everyThird, "last"));
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings))
        {
            engine.LoadState(state);
            new Trainer(engine) { CheckpointEvery = 3 }.Run(images, config, everyThird, info, NullTrainingObserver.Instance, CancellationToken.None);
        }
        foreach (var name in new[] { "last", "best" })
        {
            var expected = Checkpoint.Load(Checkpoint.PathOf(everyEpoch, name));
            var actual = Checkpoint.Load(Checkpoint.PathOf(everyThird, name));
            Assert.Equal((expected.Info!.Epoch, expected.Info.Step, expected.Info.BestEpoch), (actual.Info!.Epoch, actual.Info.Step, actual.Info.BestEpoch));
            Assert.True(expected.State.Parameters.AsSpan().SequenceEqual(actual.State.Parameters), $"{name}: parameters differ");
            Assert.True(expected.State.SecondMoment.AsSpan().SequenceEqual(actual.State.SecondMoment), $"{name}: Adam's v differs");
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(everyEpoch, "metrics.jsonl")).Select(l => l.Split("\"seconds\"")[0]),
            File.ReadAllLines(Path.Combine(everyThird, "metrics.jsonl")).Select(l => l.Split("\"seconds\"")[0]));
    }

    /// <summary>A checkpoint written in the background that fails stops the run with the write's own reason.</summary>
    [Fact]
    public void A_checkpoint_that_cannot_be_written_stops_the_run_with_the_reason()
    {
        Directory.CreateDirectory(Checkpoint.PathOf(_temp.Path, "last"));
        using var engine = new IlgpuEngine(gpu.Device, Models.Seed, Config(2).Settings);
        var e = Assert.Throws<FashionGpuException>(() =>
            new Trainer(engine).Run(Sample.Take(128), Config(2), _temp.Path, null, NullTrainingObserver.Instance, CancellationToken.None));
        Assert.Contains("last.safetensors is a directory", e.Message);
    }

    /// <summary>Calls <paramref name="finished"/> after each epoch and passes everything on to <paramref name="inner"/>.</summary>
    private sealed class ObserveEpochs(Action<EpochMetrics> finished, ITrainingObserver inner) : ITrainingObserver
    {
        public void EpochStarted(int epoch, int epochs, int samples, int position) => inner.EpochStarted(epoch, epochs, samples, position);
        public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) =>
            inner.Progress(epoch, samplesDone, samples, totals, imagesPerSecond);

        public void EpochFinished(EpochMetrics metrics)
        {
            finished(metrics);
            inner.EpochFinished(metrics);
        }
    }

    [Fact]
    public void A_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint()
    {
        var images = Sample.Take(128);
        var directory = _temp.Path;
        using (var engine = new IlgpuEngine(gpu.Device, Models.Seed, Config(1).Settings))
            new Trainer(engine).Run(images, Config(1), directory, null, NullTrainingObserver.Instance, CancellationToken.None);
        var (_, good, goodInfo) = Checkpoint.Load(Checkpoint.PathOf(directory, "last"));

        var exploding = Config(2, learningRate: 1e30);
        using var diverging = new IlgpuEngine(gpu.Device, Models.Seed, exploding.Settings);
        diverging.LoadState(good);
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new Trainer(diverging).Run(images, exploding, directory, goodInfo! with { Config = exploding }, NullTrainingObserver.Instance, CancellationToken.None));

        Assert.Contains("the loss became", e.Message);
        Assert.Contains("epoch 2", e.Message);
        Assert.Contains("last good checkpoint", e.Message);
        Assert.Equal(good.Parameters, Checkpoint.Load(Checkpoint.PathOf(directory, "last")).State.Parameters);
    }

    [Fact]
    public void Splits_and_epoch_orders_are_pure_functions_of_the_seed()
    {
        var (train, validation) = DataSplit.Create(1000, 0.2, 42);
        Assert.Equal((800, 200), (train.Length, validation.Length));
        Assert.Equal(Enumerable.Range(0, 1000), train.Concat(validation).Order());
        Assert.Equal(train, DataSplit.Create(1000, 0.2, 42).Train);
        Assert.NotEqual(train, DataSplit.Create(1000, 0.2, 43).Train);
        Assert.Equal(DataSplit.EpochOrder(train, 42, 3), DataSplit.EpochOrder(train, 42, 3));
        Assert.NotEqual(DataSplit.EpochOrder(train, 42, 3), DataSplit.EpochOrder(train, 42, 4));
        Assert.Equal(train.Order(), DataSplit.EpochOrder(train, 42, 3).Order());
    }
}
