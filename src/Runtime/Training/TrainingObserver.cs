using FashionGpu.Runtime.Engines;

namespace FashionGpu.Runtime.Training;

/// <summary>One finished epoch, as written to metrics.jsonl; <see cref="LearningRate"/> is its last step's.</summary>
public sealed record EpochMetrics(
    int Epoch, int Epochs, long Step, double TrainLoss, double TrainAccuracy, double? ValidationLoss,
    double? ValidationAccuracy, double Seconds, double ImagesPerSecond, bool IsBest, double? LearningRate = null);

/// <summary>What the trainer reports while it runs; the CLI draws progress bars, log lines or JSON from it.</summary>
public interface ITrainingObserver
{
    void EpochStarted(int epoch, int epochs, int samples, int position);
    void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond);
    void EpochFinished(EpochMetrics metrics);
}

public sealed class NullTrainingObserver : ITrainingObserver
{
    public static NullTrainingObserver Instance { get; } = new();
    public void EpochStarted(int epoch, int epochs, int samples, int position) { }
    public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) { }
    public void EpochFinished(EpochMetrics metrics) { }
}
