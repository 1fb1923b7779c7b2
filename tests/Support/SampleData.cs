using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Tests.Support;

/// <summary>The bundled sample (data/sample), loaded once per test run.</summary>
public static class SampleData
{
    private static readonly Lazy<LabeledImages> LazyTrain = new(() => Load(Split.Train));
    private static readonly Lazy<LabeledImages> LazyTest = new(() => Load(Split.Test));

    public static LabeledImages Train => LazyTrain.Value;
    public static LabeledImages Test => LazyTest.Value;

    private static LabeledImages Load(Split split) => FashionMnist.Load(DataLocator.Locate(RepoPaths.Sample, [split]), split).Data;
}

/// <summary>Cancels a training run once it has reported <c>samples</c> samples of epoch <c>epoch</c> (1-based).</summary>
public sealed class CancelAt(int epoch, int samples, CancellationTokenSource source) : ITrainingObserver
{
    public void EpochStarted(int e, int epochs, int n, int position) { }

    public void Progress(int e, int done, int n, EpochTotals totals, double rate)
    {
        if (e == epoch && done >= samples)
            source.Cancel();
    }

    public void EpochFinished(EpochMetrics metrics) { }
}
