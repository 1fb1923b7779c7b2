using System.Text.Json;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Layers;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// Learning-rate schedules against torch.optim.lr_scheduler (Fixtures/recipe_reference.json) and against their formulas
/// at chosen steps; early stopping on scripted validation accuracies.
/// </summary>
public sealed class ScheduleTests
{
    private static readonly JsonElement Schedules = RecipeTests.Fixture.GetProperty("schedules");

    private static void MatchesTorch(string name, LearningRateSchedule schedule)
    {
        var want = Schedules.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var step = 1; step <= want.Length; step++)
            Assert.True(Math.Abs(schedule.RateAt(step) - want[step - 1]) <= 1e-12 + 1e-9 * want[step - 1],
                $"{name} step {step}: {schedule.RateAt(step)} against torch's {want[step - 1]}");
    }

    [Fact]
    public void Onecycle_and_cosine_match_torch_step_by_step()
    {
        var (steps, peak) = (Schedules.GetProperty("steps").GetInt32(), Schedules.GetProperty("peak").GetDouble());
        var settings = new TrainingSettings { LearningRate = peak, Schedule = "onecycle" };
        // 40 steps as 4 epochs of 10: the default rise is 30 % of the run; --warmup-epochs 1 makes it 10 steps.
        MatchesTorch("onecycle", LearningRateSchedule.For(settings, 4, steps / 4));
        MatchesTorch("onecycle_rise10", LearningRateSchedule.For(settings with { WarmupEpochs = 1 }, 4, steps / 4));
        MatchesTorch("cosine", LearningRateSchedule.For(settings with { Schedule = "cosine" }, 4, steps / 4));
    }

    [Fact]
    public void Schedules_follow_their_formulas_at_chosen_steps()
    {
        var s = new TrainingSettings { LearningRate = 0.1, WarmupEpochs = 2 };
        // 10 epochs of 100 steps, 200 of warmup.
        var constant = LearningRateSchedule.For(s, 10, 100);
        Assert.Equal(0.1 * 1 / 200, constant.RateAt(1), 15);
        Assert.Equal(0.1 * 100 / 200, constant.RateAt(100), 15);
        Assert.Equal(0.1, constant.RateAt(200), 15);
        Assert.Equal(0.1, constant.RateAt(1000), 15);
        Assert.Equal(0.1, LearningRateSchedule.For(new TrainingSettings { LearningRate = 0.1 }, 10, 100).RateAt(1), 15);

        var cosine = LearningRateSchedule.For(s with { Schedule = "cosine" }, 10, 100);
        Assert.Equal(0.1 * 150 / 200, cosine.RateAt(150), 15);
        Assert.Equal(0.1, cosine.RateAt(201), 15);
        Assert.Equal(0.1 * (1 + Math.Cos(Math.PI * 400 / 800)) / 2, cosine.RateAt(601), 15);
        Assert.Equal(0.1 * (1 + Math.Cos(Math.PI * 799 / 800)) / 2, cosine.RateAt(1000), 15);

        var onecycle = LearningRateSchedule.For(s with { Schedule = "onecycle" }, 10, 100);
        Assert.Equal(0.1 / 25, onecycle.RateAt(1), 15);
        Assert.Equal(0.1, onecycle.RateAt(200), 15);
        Assert.Equal(0.1 / 25 / 1e4, onecycle.RateAt(1000), 15);
        // Half way down: the mean of the peak and the final rate.
        // A 2-step rise of 200 steps: the fall spans indices 1 to 199, whose middle is index 100 (step 101).
        Assert.Equal((0.1 + 0.1 / 25 / 1e4) / 2, LearningRateSchedule.For(s with { Schedule = "onecycle", WarmupEpochs = 0.02 }, 2, 100).RateAt(101), 12);
    }

    [Theory]
    [InlineData(new[] { 0.80, 0.85, 0.84, 0.86, 0.85, 0.85, 0.90 }, 2, 6)]
    [InlineData(new[] { 0.80, 0.85, 0.84, 0.86, 0.85, 0.85, 0.90 }, 3, 7)]
    [InlineData(new[] { 0.80, 0.80, 0.80 }, 2, 3)]
    [InlineData(new[] { 0.90, 0.80, 0.70, 0.95 }, 1, 2)]
    [InlineData(new[] { 0.70, 0.80, 0.90 }, 1, 3)]
    public void Early_stopping_stops_after_patience_epochs_without_a_better_accuracy(double[] accuracies, int patience, int stopsAfter)
    {
        var tracker = new ValidationTracker(patience);
        var epoch = 0;
        while (epoch < accuracies.Length)
        {
            epoch++;
            tracker.Observe(epoch, accuracies[epoch - 1]);
            if (tracker.ShouldStop(epoch))
                break;
        }
        Assert.Equal(stopsAfter, epoch);
        Assert.Equal(accuracies[..epoch].Max(), tracker.Best);
    }

    [Fact]
    public void Without_a_validation_set_every_epoch_is_the_best_and_nothing_stops()
    {
        var tracker = new ValidationTracker(patience: 1);
        for (var epoch = 1; epoch <= 5; epoch++)
        {
            Assert.True(tracker.Observe(epoch, null));
            Assert.False(tracker.ShouldStop(epoch));
        }
        Assert.Null(tracker.Best);
        Assert.Equal(5, tracker.BestEpoch);
    }
}
