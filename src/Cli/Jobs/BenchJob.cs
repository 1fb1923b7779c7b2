using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace FashionGpu.Cli.Jobs;

public sealed class BenchOptions
{
    public string? DataDir { get; set; }
    public string Device { get; set; } = "auto";
    public int? BatchSize { get; set; }
    /// <summary>Train the recipe, evaluating the test set after each epoch, until test accuracy reaches this.</summary>
    public double? ToAccuracy { get; set; }
    /// <summary>--to-accuracy: judge the target on this test-time augmentation's accuracy (default: the recipe's).</summary>
    public string? Tta { get; set; }
    /// <summary>--to-accuracy: the seed to train with (default 42).</summary>
    public ulong? Seed { get; set; }
    /// <summary>--to-accuracy: a peer's seconds to the same target, printed beside ours with the ratio.</summary>
    public double? PeerSeconds { get; set; }
    public int? Steps { get; set; }
    public bool Json { get; set; }
    public string? Model { get; set; }
    public string? ModelFile { get; set; }
    public string? Checkpoint { get; set; }
}

/// <summary>
/// `fashiongpu bench`: after a warm-up, times training steps and evaluation batches on the real data (or the sample),
/// counts kernel launches and host synchronisations per step, then profiles each kernel by synchronising after every
/// launch (a separate pass, so the timings above are not slowed by it).
/// </summary>
public sealed class BenchJob(IOptions<BenchOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        if (o.BatchSize is < 1 or > 4096)
            throw TrainOptions.Configured("Bench:BatchSize", "between 1 and 4096", o.BatchSize);
        if (o.Steps is < 1)
            throw TrainOptions.Configured("Bench:Steps", "at least 1", o.Steps);
        if (o.ToAccuracy is { } accuracy && !(accuracy > 0 && accuracy <= 1))
            throw TrainOptions.Configured("Bench:ToAccuracy", "in (0, 1]", accuracy);
        if (o.Tta is { } tta && !Runtime.Evaluation.TestTimeAugmentation.TryParse(tta, out _))
            throw TrainOptions.Configured("Bench:Tta", Runtime.Evaluation.TestTimeAugmentation.Syntax, tta);
        if (o.PeerSeconds is { } peer && !(peer > 0 && double.IsFinite(peer)))
            throw TrainOptions.Configured("Bench:PeerSeconds", "a positive number of seconds", peer);
        if (o.ToAccuracy is { } target)
            return TimeToAccuracy.Run(o, target, stopping);
        if (o.Tta is not null || o.Seed is not null || o.PeerSeconds is not null)
            throw new UsageException("--tta, --seed and --peer-seconds belong to --to-accuracy; add --to-accuracy X or drop them");
        var human = o.Json ? Console.Error : Console.Out;
        var source = DataLocator.Locate(o.DataDir, [Split.Train]);
        var loaded = FashionMnist.Load(source, Split.Train);
        RunAnnouncer.Data(human, source, loaded);
        var batch = o.BatchSize ?? 32;
        if (o.Checkpoint is not null && (o.Model ?? o.ModelFile) is not null)
            throw new UsageException("give one of --model, --model-file and --checkpoint (a checkpoint brings its own model)");
        var checkpoint = o.Checkpoint is null ? null : ChosenCheckpoint.Load(null, o.Checkpoint);
        var model = checkpoint?.Model ?? new ModelChoice(Recipes.ModelNamed(o.Model), o.ModelFile).Resolve();
        using var engine = EngineFactory.Open(DeviceSpec.Parse(o.Device), model, new TrainingSettings { BatchSize = batch });
        if (checkpoint is not null)
            engine.LoadState(checkpoint.State);
        human.WriteLine($"device: {engine.DeviceId} ({engine.DeviceName})");
        // ILGPU's CPU accelerator simulates GPU threads: fewer steps and images make the same measurement.
        var simulated = engine.SimulatesThreads;
        var steps = o.Steps ?? (simulated ? 40 : 300);
        using var data = engine.Upload(loaded.Data);
        var order = DataSplit.EpochOrder(Enumerable.Range(0, loaded.Data.Count).ToArray(), 42, 0);
        var perEpoch = order.Length / batch;
        if (perEpoch == 0)
            throw new UsageException($"--batch-size {batch} is larger than the {order.Length:N0} images of {source.Directory}; use at most {order.Length}");
        engine.BeginEpoch(data, order, 0);
        var step = 0;
        void TrainSteps(int count)
        {
            for (var i = 0; i < count && !stopping.IsCancellationRequested; i++, step++)
                engine.TrainStep(step % perEpoch * batch, batch, engine.Settings.LearningRate);
        }

        TrainSteps(simulated ? 3 : 10);
        engine.Synchronize();
        var (launches, syncs) = (engine.Launches, engine.Synchronizations);
        var clock = Stopwatch.StartNew();
        TrainSteps(steps);
        engine.Synchronize();
        // A rate is only reported for the steps it was measured on: an interrupted bench reports nothing.
        stopping.ThrowIfCancellationRequested();
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var launchesPerStep = (double)(engine.Launches - launches) / steps;
        var syncsPerStep = (double)(engine.Synchronizations - syncs) / steps;

        var evalIndices = order[..Math.Min(order.Length, simulated ? 2000 : 10000)];
        engine.Logits(data, evalIndices[..Math.Min(evalIndices.Length, IlgpuEngine.EvaluationBatch)]);
        clock.Restart();
        engine.Logits(data, evalIndices);
        var evalSeconds = clock.Elapsed.TotalSeconds;

        // Per-kernel times: ILGPU synchronises after each launch; the SIMD engine times its phases. Two steps first, so
        // that no step timed follows the evaluation batches straight away.
        TrainSteps(2);
        var profile = new Runtime.Profiling.StepProfile();
        var profiledSteps = Math.Min(steps, 50);
        engine.Profile = profile;
        TrainSteps(profiledSteps);
        engine.Profile = null;
        stopping.ThrowIfCancellationRequested();

        // Before the stand-alone GEMM runs below allocate their own matrices.
        var trainingWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        var measured = engine.MeasurePeak(batch);
        var (peak, gemm) = (measured?.Gflops ?? double.NaN, measured?.Products ?? []);
        stopping.ThrowIfCancellationRequested();
        var trainRate = steps * batch / trainSeconds;
        var evalRate = evalIndices.Length / evalSeconds;
        // The SIMD engine times each op's forward and backward as a phase: their FLOPs give each layer's GFLOP/s.
        var flops = new EngineProgram(model).Ops.SelectMany(op => new[] { (op.Name + ".Forward", op.ForwardFlops), (op.Name + ".Backward", op.BackwardFlops) })
            .ToDictionary(p => p.Item1, p => p.Item2);
        var kernels = profile.Kernels.OrderByDescending(k => k.Value.Time).Select(k =>
        {
            var gflops = flops.TryGetValue(k.Key, out var f) && f > 0 ? f * batch * (double)profiledSteps / k.Value.Time.TotalSeconds / 1e9 : (double?)null;
            return new
            {
                name = k.Key,
                launches_per_step = (double)k.Value.Launches / profiledSteps,
                threads_per_launch = k.Value.Threads > 0 ? (double?)((double)k.Value.Threads / k.Value.Launches) : null,
                ms_per_step = k.Value.Time.TotalMilliseconds / profiledSteps,
                share = profile.Total > TimeSpan.Zero ? k.Value.Time / profile.Total : 0,
                gflops,
                share_of_peak = gflops / peak is { } s && double.IsFinite(s) ? s : (double?)null,
            };
        }).ToArray();
        var result = new
        {
            device = engine.DeviceId,
            device_name = engine.DeviceName,
            model = model.Definition.ToJson(),
            batch_size = batch,
            steps,
            train_images_per_s = trainRate,
            eval_images_per_s = evalRate,
            train_gflops = trainRate * model.TrainingFlopsPerImage / 1e9,
            eval_gflops = evalRate * model.ForwardFlopsPerImage / 1e9,
            seconds_per_60000_image_epoch = 60000 / trainRate,
            launches_per_step = launchesPerStep,
            syncs_per_step = syncsPerStep,
            kernels,
            peak_working_set_mb = trainingWorkingSet / 1e6,
            fma_peak_gflops = double.IsNaN(peak) ? (double?)null : peak,
            fma_peak_description = measured?.Description,
            gemm = gemm.Select(g => new { name = g.Name, gflops = g.Gflops, share_of_peak = g.Gflops / peak }).ToArray(),
        };
        if (o.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        var inv = CultureInfo.InvariantCulture;
        var summary = new Table().Title($"{engine.DeviceId}, batch {batch}, {steps} timed steps").AddColumn("measure").AddColumn("value", c => c.RightAligned());
        summary.AddRow("training images/s", trainRate.ToString("N0", inv));
        summary.AddRow("evaluation images/s", evalRate.ToString("N0", inv));
        summary.AddRow($"training GFLOP/s ({model.TrainingFlopsPerImage / 1e6:F2} MFLOP/image)", result.train_gflops.ToString("F2", inv));
        summary.AddRow($"evaluation GFLOP/s ({model.ForwardFlopsPerImage / 1e6:F3} MFLOP/image)", result.eval_gflops.ToString("F2", inv));
        summary.AddRow("seconds per 60,000-image epoch", result.seconds_per_60000_image_epoch.ToString("F1", inv));
        summary.AddRow("kernel launches per step", launchesPerStep.ToString("F1", inv));
        summary.AddRow("host synchronisations per step", syncsPerStep.ToString("F2", inv));
        summary.AddRow("peak working set (data, engine, steps), MB", result.peak_working_set_mb.ToString("F0", inv));
        AnsiConsole.Write(summary);
        var table = new Table().Title($"per kernel ({profiledSteps} steps, each launch timed alone)").AddColumn("kernel");
        foreach (var h in new[] { "launches/step", "threads/launch", "ms/step", "share", "GFLOP/s", "of peak" })
            table.AddColumn(h, c => c.RightAligned());
        foreach (var k in kernels)
            table.AddRow(Markup.Escape(k.name), k.launches_per_step.ToString("F0", inv), k.threads_per_launch?.ToString("N0", inv) ?? "",
                k.ms_per_step.ToString("F3", inv), k.share.ToString("P1", inv), k.gflops?.ToString("F1", inv) ?? "", k.share_of_peak?.ToString("P0", inv) ?? "");
        AnsiConsole.Write(table);
        if (gemm.Count > 0)
        {
            var products = new Table().Title("dense layers alone (each call warm and back to back, as many cores as the engine gives it)")
                .AddColumn("product").AddColumn("GFLOP/s", c => c.RightAligned()).AddColumn("of peak", c => c.RightAligned());
            foreach (var g in result.gemm)
                products.AddRow(Markup.Escape(g.name), g.gflops.ToString("F1", inv), g.share_of_peak.ToString("P0", inv));
            products.AddRow(Markup.Escape($"peak: {measured!.Description}"), peak.ToString("F1", inv), "100 %");
            AnsiConsole.Write(products);
        }
        return ExitCodes.Ok;
    }
}
