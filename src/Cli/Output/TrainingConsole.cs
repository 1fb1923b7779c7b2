using System.Globalization;
using System.Text.Json;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Training;
using Spectre.Console;

namespace FashionGpu.Cli.Output;

/// <summary>
/// How training shows itself: live bars per epoch on a terminal, one line per epoch when output is redirected, or
/// one JSON object per epoch on stdout with --json (human text then goes to stderr).
/// </summary>
public abstract class TrainingConsole
{
    public static TrainingConsole Create(bool json) =>
        json ? new JsonConsole()
        : AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected ? new ProgressBarConsole()
        : new PlainConsole();

    /// <summary>Where human-readable lines go (stderr under --json, so stdout stays machine-readable).</summary>
    public virtual TextWriter Human => Console.Out;

    public abstract TrainResult Run(Func<ITrainingObserver, TrainResult> train);

    protected static string EpochLine(EpochMetrics m)
    {
        var inv = CultureInfo.InvariantCulture;
        var validation = m.ValidationAccuracy is { } accuracy ? string.Create(inv, $"val_loss {m.ValidationLoss:F4}  val_acc {accuracy:F4}  ") : "";
        return string.Create(inv, $"epoch {m.Epoch}/{m.Epochs}  loss {m.TrainLoss:F4}  acc {m.TrainAccuracy:F4}  {validation}") +
            string.Create(inv, $"{m.Seconds:F1} s  {m.ImagesPerSecond:N0} img/s{(m.IsBest && m.ValidationAccuracy is not null ? "  (best)" : "")}");
    }

    private sealed class PlainConsole : TrainingConsole, ITrainingObserver
    {
        public override TrainResult Run(Func<ITrainingObserver, TrainResult> train) => train(this);
        public void EpochStarted(int epoch, int epochs, int samples, int position) { }
        public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) { }
        public void EpochFinished(EpochMetrics metrics) => Console.Out.WriteLine(EpochLine(metrics));
    }

    private sealed class JsonConsole : TrainingConsole, ITrainingObserver
    {
        public override TextWriter Human => Console.Error;
        public override TrainResult Run(Func<ITrainingObserver, TrainResult> train) => train(this);
        public void EpochStarted(int epoch, int epochs, int samples, int position) { }
        public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) { }
        public void EpochFinished(EpochMetrics metrics) => Console.Out.WriteLine(JsonSerializer.Serialize(metrics, Trainer.MetricsJson));
    }

    private sealed class ProgressBarConsole : TrainingConsole
    {
        public override TrainResult Run(Func<ITrainingObserver, TrainResult> train)
        {
            TrainResult? result = null;
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                    new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context => result = train(new Observer(context)));
            return result!;
        }

        private sealed class Observer(ProgressContext context) : ITrainingObserver
        {
            private ProgressTask? _task;
            private string _title = "";

            public void EpochStarted(int epoch, int epochs, int samples, int position)
            {
                _title = $"epoch {epoch}/{epochs}";
                _task = context.AddTask(_title, maxValue: samples);
                _task.Value = position;
            }

            public void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond)
            {
                if (_task is null)
                    return;
                _task.Value = samplesDone;
                _task.Description = string.Create(CultureInfo.InvariantCulture,
                    $"{_title}  loss {totals.MeanLoss:F4}  acc {totals.Accuracy:F4}  {imagesPerSecond:N0} img/s");
            }

            public void EpochFinished(EpochMetrics metrics)
            {
                if (_task is null)
                    return;
                _task.Description = Markup.Escape(EpochLine(metrics));
                _task.StopTask();
            }
        }
    }
}
