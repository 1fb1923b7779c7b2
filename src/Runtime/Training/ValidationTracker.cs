namespace FashionGpu.Runtime.Training;

/// <summary>
/// The best validation accuracy so far and early stopping: a run stops once <c>patience</c> epochs have passed
/// without a strictly better accuracy. Without a validation set every epoch counts as the best (the last one is
/// what evaluate then uses) and nothing stops early.
/// </summary>
public sealed class ValidationTracker(int? patience, double? best = null, int bestEpoch = 0)
{
    public double? Best { get; private set; } = best;
    public int BestEpoch { get; private set; } = bestEpoch;

    /// <summary>Records epoch <paramref name="epoch"/> (1-based); returns whether it is the new best.</summary>
    public bool Observe(int epoch, double? validationAccuracy)
    {
        var isBest = validationAccuracy is not { } accuracy || Best is not { } best || accuracy > best;
        if (isBest)
        {
            Best = validationAccuracy;
            BestEpoch = epoch;
        }
        return isBest;
    }

    /// <summary>True when the run should stop after <paramref name="epoch"/> epochs.</summary>
    public bool ShouldStop(int epoch) => patience is { } p && BestEpoch > 0 && epoch - BestEpoch >= p;
}
