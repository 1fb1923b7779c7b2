using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>A dataset held by an engine (on its device).</summary>
public interface IEngineDataset : IDisposable
{
    int Count { get; }
}

/// <summary>Sums over the samples of an epoch so far, added in sample order (deterministic).</summary>
public readonly record struct EpochTotals(double LossSum, long Correct, int Samples)
{
    /// <summary>Per-sample losses and hits added in sample order, in double.</summary>
    public static EpochTotals Sum(ReadOnlySpan<float> loss, ReadOnlySpan<int> correct)
    {
        var sum = 0.0;
        long hits = 0;
        for (var i = 0; i < loss.Length; i++)
        {
            sum += loss[i];
            hits += correct[i];
        }
        return new EpochTotals(sum, hits, loss.Length);
    }

    public static EpochTotals operator +(EpochTotals a, EpochTotals b) =>
        new(a.LossSum + b.LossSum, a.Correct + b.Correct, a.Samples + b.Samples);

    public double MeanLoss => Samples == 0 ? double.NaN : LossSum / Samples;
    public double Accuracy => Samples == 0 ? double.NaN : (double)Correct / Samples;
}

/// <summary>
/// The seam between the training loop and the arithmetic: an engine holds datasets and the model state on its
/// device and runs whole steps. Nothing above it allocates device memory or launches a kernel.
/// </summary>
public interface IEngine : IDisposable
{
    string DeviceId { get; }
    string DeviceName { get; }
    ModelPlan Model { get; }
    TrainingSettings Settings { get; }

    /// <summary>Kernel launches so far.</summary>
    long Launches { get; }

    /// <summary>Host-device synchronisations for reading epoch totals so far.</summary>
    long Synchronizations { get; }

    /// <summary>
    /// When set, every launch (ILGPU: each kernel, synchronised after it) or phase (SIMD) is timed into it; for
    /// `bench`, since synchronising after each launch slows training.
    /// </summary>
    Profiling.StepProfile? Profile { get; set; }

    /// <summary>True where GPU kernels run as simulated threads on the host (ILGPU's CPU accelerator): slow, so benchmarks take fewer steps.</summary>
    bool SimulatesThreads { get; }

    /// <summary>
    /// The device's arithmetic peak, measured, and the model's products timed alone against it, for `bench`; null
    /// where the engine has no such measurement (the ILGPU engine: a GPU's peak is in its data sheet).
    /// </summary>
    Profiling.PeakMeasurement? MeasurePeak(int batch) => null;

    IEngineDataset Upload(LabeledImages data);

    void LoadState(ModelState state);
    ModelState ReadState();

    /// <summary>
    /// Starts epoch <paramref name="epoch"/> (0-based; it keys the augmentation) visiting <paramref name="order"/>
    /// (indices into <paramref name="data"/>).
    /// </summary>
    void BeginEpoch(IEngineDataset data, int[] order, int epoch);

    /// <summary>Gather (augmented), forward, loss, backward and one optimizer step at <paramref name="learningRate"/> on order[start..start+count).</summary>
    void TrainStep(int start, int count, double learningRate);

    /// <summary>
    /// True once an optimizer step made a parameter NaN or infinite, as of the last <see cref="ReadEpochTotals"/>
    /// (read with them, so it costs no extra synchronisation).
    /// </summary>
    bool ParametersDiverged { get; }

    /// <summary>Loss and correct counts of the epoch's samples [start, end), summed in order (waits for the device).</summary>
    EpochTotals ReadEpochTotals(int start, int end);

    /// <summary>Waits until all queued work is done (for timing; training never needs it).</summary>
    void Synchronize();

    /// <summary>
    /// Logits [indices.Length, 10] in inference mode (no dropout; batchnorm on its running statistics; under --ema the
    /// weight average) of the images as <paramref name="view"/> shows them (test-time augmentation: mirrored,
    /// translated; none by default).
    /// </summary>
    float[] Logits(IEngineDataset data, int[] indices, Kernels.Augmentation view = default);
}
