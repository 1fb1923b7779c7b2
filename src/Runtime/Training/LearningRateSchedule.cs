namespace FashionGpu.Runtime.Training;

/// <summary>
/// The learning rate of every optimizer step, a pure function of the step number (1-based) and the run's length, so
/// a resumed run continues on the same curve. With <c>WarmupSteps</c> w and <c>TotalSteps</c> T, at step t:
/// <list type="bullet">
/// <item>constant: peak·min(1, t/w) (peak when w = 0);</item>
/// <item>cosine: the warmup, then peak·(1 + cos(π·(t-w-1)/(T-w)))/2, as torch's CosineAnnealingLR to 0;</item>
/// <item>onecycle: torch's OneCycleLR (cosine annealing, no momentum cycling): from peak/25 up to peak over the first w
/// steps (30 % of T when no warmup is given), then down to peak/25/10⁴ at step T.</item>
/// </list>
/// </summary>
public sealed record LearningRateSchedule(string Kind, double Peak, long WarmupSteps, long TotalSteps)
{
    public const double OneCycleStartDivisor = 25;
    public const double OneCycleFinalDivisor = 1e4;
    public const double OneCycleDefaultRise = 0.3;

    public static LearningRateSchedule For(Model.TrainingSettings settings, int epochs, int stepsPerEpoch)
    {
        var total = (long)epochs * stepsPerEpoch;
        var warmup = (long)Math.Round(settings.WarmupEpochs * stepsPerEpoch);
        if (settings.Schedule == "onecycle" && warmup == 0)
            warmup = (long)(OneCycleDefaultRise * total);
        return new LearningRateSchedule(settings.Schedule, settings.LearningRate, Math.Min(warmup, total), Math.Max(total, 1));
    }

    public double RateAt(long step)
    {
        switch (Kind)
        {
            case "onecycle":
                return OneCycle(step - 1);
            case "cosine" when step > WarmupSteps:
                var progress = Math.Min(1.0, (double)(step - WarmupSteps - 1) / Math.Max(1, TotalSteps - WarmupSteps));
                return Peak * (1 + Math.Cos(Math.PI * progress)) / 2;
            default:
                return WarmupSteps > 0 && step < WarmupSteps ? Peak * step / WarmupSteps : Peak;
        }
    }

    /// <summary>torch.optim.lr_scheduler.OneCycleLR at scheduler index i (0 for the first step), two phases, cosine annealing.</summary>
    private double OneCycle(long i)
    {
        var initial = Peak / OneCycleStartDivisor;
        var final = initial / OneCycleFinalDivisor;
        double riseEnd = WarmupSteps - 1, fallEnd = TotalSteps - 1;
        static double Anneal(double from, double to, double pct) => to + (from - to) / 2 * (Math.Cos(Math.PI * pct) + 1);
        if (i <= riseEnd)
            return riseEnd <= 0 ? Peak : Anneal(initial, Peak, i / riseEnd);
        return Anneal(Peak, final, Math.Min(1.0, (i - riseEnd) / Math.Max(1, fallEnd - riseEnd)));
    }
}
