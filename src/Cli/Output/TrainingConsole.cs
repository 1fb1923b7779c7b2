using System.Globalization;
using System.Text.Json;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Training;
using Spectre.Console;

namespace FashionGpu.Cli.Output;

/// <summary>
/// How training shows itself: on a terminal, one live progress line for the epoch under way (cut to the terminal's
/// width) and each finished epoch as a full line, which wraps rather than shrinks, so validation accuracy stays
/// readable at 80 columns; when output is redirected, one line per finished epoch plus a progress line whenever
/// <see cref="RedirectedProgressEvery"/> passes without one; with --json, one JSON object per epoch on stdout (human
/// text then goes to stderr).
/// </summary>
public abstract class TrainingConsole : ITrainingObserver
{
    public static readonly TimeSpan RedirectedProgressEvery = TimeSpan.FromSeconds(5);

    public static TrainingConsole Create(bool json) =>
        json ? new JsonConsole()
        : AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected ? new LiveLineConsole()
        : new PlainConsole();

    /// <summary>Where human-readable lines go (stderr under --json, so stdout stays machine-readable).</summary>
    public virtual TextWriter Human => Console.Out;

    public TrainResult Run(Func<ITrainingObserver, TrainResult> train)
    {
        try
        {
            return train(this);
        }
        finally
        {
            Finish();
        }
    }

    /// <summary>Leaves the console ready for ordinary lines once training returns (or throws).</summary>
    protected virtual void Finish() { }

    public virtual void EpochStarted(int epoch, int epochs, int samples, int position) => Epochs = epochs;
    public virtual void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) { }
    public abstract void EpochFinished(EpochMetrics metrics);

    protected int Epochs { get; private set; }

    protected static string EpochLine(EpochMetrics m)
    {
        var inv = CultureInfo.InvariantCulture;
        var validation = m.ValidationAccuracy is { } accuracy ? string.Create(inv, $"val_loss {m.ValidationLoss:F4}  val_acc {accuracy:F4}  ") : "";
        return string.Create(inv, $"epoch {m.Epoch}/{m.Epochs}  loss {m.TrainLoss:F4}  acc {m.TrainAccuracy:F4}  {validation}") +
            string.Create(inv, $"{m.Seconds:F1} s  {m.ImagesPerSecond:N0} img/s{(m.IsBest && m.ValidationAccuracy is not null ? "  (best)" : "")}");
    }

    /// <summary>"epoch 2/10 at 12,800/48,000 images (27 %)  loss 0.4123  acc 0.8521  2,345 img/s": an epoch under way.</summary>
    protected string ProgressLine(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond) =>
        string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{Epochs} at {samplesDone:N0}/{samples:N0} images ({100.0 * samplesDone / samples:F0} %)  loss {totals.MeanLoss:F4}  acc {totals.Accuracy:F4}  {imagesPerSecond:N0} img/s");

    private sealed class PlainConsole : TrainingConsole
    {
        private readonly System.Diagnostics.Stopwatch _sinceLastLine = System.Diagnostics.Stopwatch.StartNew();

        public override void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond)
        {
            if (_sinceLastLine.Elapsed < RedirectedProgressEvery || samplesDone >= samples)
                return;
            Console.Out.WriteLine(ProgressLine(epoch, samplesDone, samples, totals, imagesPerSecond));
            _sinceLastLine.Restart();
        }

        public override void EpochFinished(EpochMetrics metrics)
        {
            Console.Out.WriteLine(EpochLine(metrics));
            _sinceLastLine.Restart();
        }
    }

    private sealed class JsonConsole : TrainingConsole
    {
        public override TextWriter Human => Console.Error;
        public override void EpochFinished(EpochMetrics metrics) => Console.Out.WriteLine(JsonSerializer.Serialize(metrics, Trainer.MetricsJson));
    }

    /// <summary>A terminal: the epoch under way redrawn in place on one line, finished epochs printed in full above it.</summary>
    private sealed class LiveLineConsole : TrainingConsole
    {
        private const string ClearLine = "\r\u001b[K";
        private bool _open;

        public override void Progress(int epoch, int samplesDone, int samples, EpochTotals totals, double imagesPerSecond)
        {
            var line = ProgressLine(epoch, samplesDone, samples, totals, imagesPerSecond);
            var width = Math.Max(20, AnsiConsole.Profile.Width - 1);
            Console.Out.Write(ClearLine + (line.Length > width ? line[..(width - 1)] + "…" : line));
            _open = true;
        }

        public override void EpochFinished(EpochMetrics metrics)
        {
            Console.Out.WriteLine(ClearLine + EpochLine(metrics));
            _open = false;
        }

        protected override void Finish()
        {
            if (_open)
                Console.Out.Write(ClearLine);
            _open = false;
        }
    }
}
