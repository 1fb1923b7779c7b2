using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>
/// A run and a large data set (the sample's 2,000 training images ten times over, as both splits) that keep the CPU
/// accelerator busy for many seconds, so a SIGINT lands while a command is at work.
/// </summary>
public sealed class SlowWork : IDisposable
{
    private readonly TempDirectory _temp = new();

    public SlowWork()
    {
        Data = Path.Combine(_temp.Path, "data");
        Directory.CreateDirectory(Data);
        var pixels = Decompress(Path.Combine(RepoPaths.Sample, "train-images-idx3-ubyte.gz"), 16);
        var labels = Decompress(Path.Combine(RepoPaths.Sample, "train-labels-idx1-ubyte.gz"), 8);
        const int copies = 10;
        Images = copies * labels.Length;
        foreach (var split in new[] { "train", "t10k" })
        {
            WriteIdx(Path.Combine(Data, $"{split}-images-idx3-ubyte"), 0x803, [Images, 28, 28], pixels, copies);
            WriteIdx(Path.Combine(Data, $"{split}-labels-idx1-ubyte"), 0x801, [Images], labels, copies);
        }
        Run = Path.Combine(_temp.Path, "run");
        var train = CliProcess.Run(_temp.Path, "train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--run-dir", Run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
    }

    public string Data { get; }
    public string Run { get; }
    public int Images { get; }
    public string ImagesFile => Path.Combine(Data, "t10k-images-idx3-ubyte");

    private static byte[] Decompress(string path, int header)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray()[header..];
    }

    private static void WriteIdx(string path, int magic, int[] dimensions, byte[] payload, int copies)
    {
        using var file = File.Create(path);
        Span<byte> word = stackalloc byte[4];
        foreach (var value in (int[])[magic, .. dimensions])
        {
            BinaryPrimitives.WriteInt32BigEndian(word, value);
            file.Write(word);
        }
        for (var i = 0; i < copies; i++)
            file.Write(payload);
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Ctrl+C (SIGINT) during each command, through the real process: it stops within a few seconds, exits 130 with one
/// `error:` line (train says where it saved instead), presents nothing partial as a result (no JSON from an
/// interrupted bench, no report from an interrupted evaluate) and writes nothing half done.
/// </summary>
public sealed class InterruptTests(SlowWork work) : IClassFixture<SlowWork>, IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Starts the command, waits until it prints <paramref name="startedWhen"/> and then <paramref name="after"/> more, and interrupts it.</summary>
    private (int ExitCode, string Stdout, string Stderr, TimeSpan Stopping) Interrupt(string startedWhen, TimeSpan after, params string[] args)
    {
        using var process = CliProcess.Start(_temp.Path, args);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!process.Output.Contains(startedWhen, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        Assert.True(process.Output.Contains(startedWhen, StringComparison.Ordinal), $"never printed '{startedWhen}':\n{process.Output}");
        Thread.Sleep(after);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        process.Interrupt();
        var (code, stdout, stderr) = process.WaitForExit(TimeSpan.FromMinutes(1));
        return (code, stdout, stderr, clock.Elapsed);
    }

    private static void InterruptedWithOneErrorLine((int ExitCode, string Stdout, string Stderr, TimeSpan Stopping) result, string start)
    {
        CliAssert.OneErrorLine((result.ExitCode, result.Stdout, result.Stderr), 130, start);
        Assert.False(Regex.IsMatch(result.Stderr, @"\b[A-Z]\w*Exception\b|System\.\w+"), result.Stderr);
        // The grace is 2 s; starting `kill` and the process's exit add a little.
        Assert.True(result.Stopping < TimeSpan.FromSeconds(15), $"took {result.Stopping} to stop");
    }

    [Fact]
    public void Bench_reports_no_rates_from_steps_it_did_not_run()
    {
        var result = Interrupt("device: cpu", TimeSpan.FromSeconds(2),
            "bench", "--device", "cpu", "--data-dir", work.Data, "--steps", "100000", "--json");
        InterruptedWithOneErrorLine(result, "interrupted");
        Assert.Equal("", result.Stdout.Trim());
    }

    [Fact]
    public void Evaluate_writes_no_report()
    {
        var before = BadInputs.Listing(work.Run);
        var result = Interrupt("device: cpu", TimeSpan.FromSeconds(1), "evaluate", "--run", work.Run, "--device", "cpu", "--data-dir", work.Data);
        InterruptedWithOneErrorLine(result, "interrupted");
        Assert.DoesNotContain("Accuracy", result.Stdout);
        Assert.Equal(before, BadInputs.Listing(work.Run));
    }

    [Fact]
    public void Predict_prints_no_predictions()
    {
        var result = Interrupt("", TimeSpan.FromSeconds(4), "predict", "--run", work.Run, "--device", "cpu", "--json", work.ImagesFile);
        InterruptedWithOneErrorLine(result, "interrupted");
        Assert.Equal("", result.Stdout.Trim());
    }

    [Fact]
    public void Sweep_local_counts_interrupted_trials_as_interrupted_and_resumes_them()
    {
        var sweepFile = _temp.File("sweep.json");
        File.WriteAllText(sweepFile, $$"""{"base": {"epochs": 1, "data_dir": "{{work.Data}}", "device": "cpu", "limit_train": 5000}, "grid": {"learning_rate": [0.001, 0.002]}, "seeds": [1, 2]}""");
        var dir = _temp.File("sweep");
        Assert.Equal(0, CliProcess.Run(_temp.Path, "sweep", "plan", sweepFile, "--dir", dir).ExitCode);
        var result = Interrupt("device: cpu", TimeSpan.FromSeconds(2), "sweep", "local", dir);
        Assert.True(result.ExitCode == 130, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.Contains("interrupted: 0 of 4 trials finished, 1 interrupted, 3 not started; continue the sweep with", result.Stdout);
        Assert.DoesNotContain("failed", result.Stdout);
        var report = CliProcess.Run(_temp.Path, "sweep", "report", dir, "--json");
        var states = System.Text.Json.JsonDocument.Parse(report.Stdout).RootElement.GetProperty("trials").EnumerateArray()
            .Select(t => t.GetProperty("state").GetString()!).Order().ToArray();
        Assert.Equal(["interrupted", "pending", "pending", "pending"], states);
    }

    [Fact]
    public void Export_and_report_either_finish_whole_or_write_nothing()
    {
        foreach (var (args, output) in new[]
                 {
                     (new[] { "export", "--run", work.Run, "--output", _temp.File("model.onnx") }, _temp.File("model.onnx")),
                     (["report", "--run", work.Run, "--data-dir", work.Data], Path.Combine(work.Run, "report.html")),
                 })
        {
            var before = File.Exists(output) ? File.ReadAllBytes(output) : null;
            var result = Interrupt("", TimeSpan.FromMilliseconds(700), args);
            if (result.ExitCode == 0)
                Assert.True(File.Exists(output), $"{args[0]} exited 0 without {output}");
            else
            {
                // A SIGINT that arrives while the runtime is still starting ends the process before any handler exists.
                if (result.Stderr.Length > 0)
                    InterruptedWithOneErrorLine(result, "interrupted");
                Assert.Equal(130, result.ExitCode);
                Assert.Equal(before, File.Exists(output) ? File.ReadAllBytes(output) : null);
            }
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(output)!, ".*.tmp"));
        }
    }
}
