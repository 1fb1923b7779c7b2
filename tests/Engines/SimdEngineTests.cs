using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>The SIMD engine in the training loop: determinism across core counts, resume, and checkpoints shared with ILGPU.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class SimdEngineTests(CpuDeviceFixture gpu) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly LabeledImages Sample =
        SampleData.Train;

    private static readonly RunConfiguration Config = new() { Settings = new TrainingSettings { Seed = 11 }, Epochs = 2, ValidationSplit = 0.25 };

    private ModelState Train(IEngine engine, string directory, CheckpointInfo? resume = null, ITrainingObserver? observer = null,
        CancellationToken cancel = default)
    {
        new Trainer(engine) { ProgressInterval = TimeSpan.Zero }.Run(Sample.Take(512), Config, directory, resume,
            observer ?? NullTrainingObserver.Instance, cancel);
        return engine.ReadState();
    }

    [Fact]
    public void Training_gives_the_same_bits_on_one_core_and_on_all_and_after_an_interruption()
    {
        using var one = new SimdEngine(Models.Seed, Config.Settings, parallelism: 1);
        var single = Train(one, Path.Combine(_temp.Path, "one"));
        using var all = new SimdEngine(Models.Seed, Config.Settings, parallelism: 4);
        var parallel = Train(all, Path.Combine(_temp.Path, "all"));
        Assert.True(single.Parameters.AsSpan().SequenceEqual(parallel.Parameters), "1 and 4 threads give different weights");
        Assert.True(single.SecondMoment.AsSpan().SequenceEqual(parallel.SecondMoment));

        var interrupted = Path.Combine(_temp.Path, "interrupted");
        using (var first = new SimdEngine(Models.Seed, Config.Settings))
        using (var cancel = new CancellationTokenSource())
            Train(first, interrupted, null, new CancelAt(2, 100, cancel), cancel.Token);
        var (_, state, info) = Checkpoint.Load(Checkpoint.PathOf(interrupted, "last"));
        Assert.Equal(1, info!.Epoch);
        using var resumed = new SimdEngine(Models.Seed, info.Config.Settings);
        resumed.LoadState(state);
        var final = Train(resumed, interrupted, info);
        Assert.True(single.Parameters.AsSpan().SequenceEqual(final.Parameters), "a resumed run differs from an uninterrupted one");
        Assert.True(single.FirstMoment.AsSpan().SequenceEqual(final.FirstMoment));
    }

    [Fact]
    public void A_checkpoint_trained_by_one_engine_evaluates_the_same_on_the_other()
    {
        using var simd = new SimdEngine(Models.Seed, Config.Settings);
        Train(simd, _temp.Path);
        var (_, state, _) = Checkpoint.Load(Checkpoint.PathOf(_temp.Path, "last"));
        var test = SampleData.Test;

        using var ilgpu = new IlgpuEngine(gpu.Device, Models.Seed, Config.Settings);
        ilgpu.LoadState(state);
        var onIlgpu = Evaluator.Evaluate(ilgpu, test);
        var onSimd = Evaluator.Evaluate(simd, test);

        // Sums in a different order (and FMA) may flip a near-tie; the reports must agree all but exactly.
        var differing = onIlgpu.Predictions.Zip(onSimd.Predictions).Count(p => p.First != p.Second);
        Assert.True(differing <= 1, $"{differing} of 500 predictions differ between the engines");
        Assert.Equal(onIlgpu.Report.MeanLoss!.Value, onSimd.Report.MeanLoss!.Value, 1e-4);
        Assert.True(onSimd.Report.Accuracy > 0.5, $"accuracy {onSimd.Report.Accuracy} after two epochs on 384 images");
    }
}
