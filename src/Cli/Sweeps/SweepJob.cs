using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using Microsoft.Extensions.Options;

namespace FashionGpu.Cli.Sweeps;

public sealed class SweepOptions
{
    public string Action { get; set; } = "";
    public string? File { get; set; }
    public string? Dir { get; set; }
    public int? Trial { get; set; }
    public int Parallel { get; set; } = 1;
    public string? Partition { get; set; }
    public int CpusPerTask { get; set; } = 1;
    public int? GpusPerTask { get; set; }
    public int? MaxRunning { get; set; }
    public bool Submit { get; set; }
    public string Image { get; set; } = "fashiongpu:latest";
    public string Claim { get; set; } = "fashiongpu-sweeps";
    public bool Json { get; set; }

    /// <summary>The values as bound: flags are checked when parsed, so what is caught here came from configuration.</summary>
    public void Validate()
    {
        if (Parallel < 1)
            throw Jobs.TrainOptions.Configured("Sweep:Parallel", "at least 1", Parallel);
        if (CpusPerTask < 1)
            throw Jobs.TrainOptions.Configured("Sweep:CpusPerTask", "at least 1", CpusPerTask);
        if (GpusPerTask is < 1)
            throw Jobs.TrainOptions.Configured("Sweep:GpusPerTask", "at least 1", GpusPerTask);
        if (MaxRunning is < 1)
            throw Jobs.TrainOptions.Configured("Sweep:MaxRunning", "at least 1", MaxRunning);
        if (Trial is < 0)
            throw Jobs.TrainOptions.Configured("Sweep:Trial", "0 or more", Trial);
    }
}

/// <summary>`fashiongpu sweep plan|run|local|slurm|k8s|report`.</summary>
public sealed class SweepJob(IOptions<SweepOptions> options) : IJob
{
    /// <summary>Long enough for the trials this runs, which stop on their own grace, to save and exit.</summary>
    public TimeSpan StopGrace => TimeSpan.FromSeconds(30);

    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        o.Validate();
        var dir = new SweepDirectory(o.Dir is { Length: > 0 } given ? given : throw new UsageException("give the sweep directory"));
        switch (o.Action)
        {
            case "plan":
            {
                if (!System.IO.File.Exists(o.File))
                    throw new UsageException($"{o.File}: no such sweep file");
                var sweep = SweepDefinition.Read(System.IO.File.ReadAllText(o.File!), o.File!);
                var trials = dir.Plan(sweep, sweep.Plan());
                Console.Out.WriteLine($"planned {trials.Count} trials in {dir.TrialsFile}; run them with '{CommandName.Value} sweep local {dir.Path}' or on Slurm with '{CommandName.Value} sweep slurm {dir.Path} --submit'");
                return ExitCodes.Ok;
            }
            case "run":
                return RunTrial(dir, o.Trial ?? IndexFromScheduler(), stopping);
            case "local":
                return RunLocal(dir, o.Parallel, stopping);
            case "slurm":
                return Slurm(dir, o);
            case "k8s":
            {
                if (!System.Text.RegularExpressions.Regex.IsMatch(o.Claim, "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))
                    throw new UsageException($"--claim \"{o.Claim}\" is not a Kubernetes object name; use lowercase letters, digits, '-' and '.' (at most 253), starting and ending with a letter or digit");
                var (_, trials) = dir.Load();
                var path = System.IO.Path.Combine(dir.Path, "sweep-job.yaml");
                AtomicFile.WriteAllText(path, SweepScripts.KubernetesJob(dir, trials.Count, o.MaxRunning ?? trials.Count, o.Image, o.Claim, o.CpusPerTask, o.GpusPerTask));
                Console.Out.WriteLine($"wrote {path}: an Indexed Job of {trials.Count} completions; apply it with 'kubectl apply -f {path}'");
                return ExitCodes.Ok;
            }
            case "report":
                return SweepReport.Write(dir, o.Json);
            default:
                throw new UsageException($"unknown sweep action '{o.Action}'");
        }
    }

    /// <summary>The array index Slurm (SLURM_ARRAY_TASK_ID) or Kubernetes (JOB_COMPLETION_INDEX) gives this task.</summary>
    private static int IndexFromScheduler()
    {
        foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX" })
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index
                    : throw new UsageException($"{name}={value} is not a trial index");
        throw new UsageException("give --trial I (or run under a Slurm array job or a Kubernetes Indexed Job)");
    }

    /// <summary>
    /// Trial I as an ordinary training run in DIR/trials/I: skipped when done, resumed when started, evaluated when the
    /// sweep wants test figures; a failure is recorded in failed.json and touches no other trial.
    /// </summary>
    private static int RunTrial(SweepDirectory dir, int index, CancellationToken stopping)
    {
        var (sweep, trials) = dir.Load();
        if (index < 0 || index >= trials.Count)
            throw new UsageException($"trial {index} does not exist; {dir.Path} plans trials 0 to {trials.Count - 1}");
        var trial = trials[index];
        var run = dir.TrialDirectory(index);
        if (dir.State(index) == TrialState.Done)
        {
            Console.Out.WriteLine($"trial {index} is done; skipping it");
            return ExitCodes.Ok;
        }
        if (System.IO.File.Exists(dir.FailedFile(index)))
            System.IO.File.Delete(dir.FailedFile(index));
        var clock = Stopwatch.StartNew();
        var resume = System.IO.File.Exists(Checkpoint.PathOf(run, "last"));
        string[] train = resume ? ["train", "--resume", run] : ["train", .. trial.TrainArguments(), "--run-dir", run];
        var (code, error) = Self(train, stopping);
        if (code == 0 && sweep.Test)
        {
            string[] evaluate = ["evaluate", "--run", run, "--tta", sweep.Tta];
            if (trial.Settings.TryGetValue("data_dir", out var data))
                evaluate = [.. evaluate, "--data-dir", data.GetValue<string>()];
            (code, error) = Self(evaluate, stopping);
        }
        if (code == ExitCodes.Interrupted)
            return code;
        Directory.CreateDirectory(run);
        if (code != 0)
        {
            AtomicFile.WriteAllText(dir.FailedFile(index), JsonSerializer.Serialize(new { index, exit_code = code, error }) + "\n");
            Console.Error.WriteLine($"error: trial {index} failed: {error}");
            return ExitCodes.Failure;
        }
        AtomicFile.WriteAllText(dir.DoneFile(index), JsonSerializer.Serialize(new { index, seconds = clock.Elapsed.TotalSeconds, resumed = resume }) + "\n");
        return ExitCodes.Ok;
    }

    /// <summary>Every trial that is not done, <paramref name="parallel"/> at a time, each with its share of the cores.</summary>
    private static int RunLocal(SweepDirectory dir, int parallel, CancellationToken stopping)
    {
        var (_, trials) = dir.Load();
        var todo = trials.Where(t => dir.State(t.Index) != TrialState.Done).Select(t => t.Index).ToArray();
        var cores = Math.Max(1, Environment.ProcessorCount / parallel);
        var (finished, failed, interrupted) = (0, 0, 0);
        Parallel.ForEach(todo, new ParallelOptions { MaxDegreeOfParallelism = parallel }, index =>
        {
            if (stopping.IsCancellationRequested)
                return;
            var (code, _) = Self(["sweep", "run", dir.Path, "--trial", index.ToString(CultureInfo.InvariantCulture)], stopping,
                new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = cores.ToString(CultureInfo.InvariantCulture) });
            if (code == ExitCodes.Ok)
                Interlocked.Increment(ref finished);
            else if (code == ExitCodes.Interrupted)
                Interlocked.Increment(ref interrupted);
            else
                Interlocked.Increment(ref failed);
        });
        var notStarted = todo.Length - finished - failed - interrupted;
        var parts = new List<string> { $"{finished} of {todo.Length} trials finished" };
        if (failed > 0)
            parts.Add($"{failed} failed");
        if (interrupted > 0)
            parts.Add($"{interrupted} interrupted");
        if (notStarted > 0 && stopping.IsCancellationRequested)
            parts.Add($"{notStarted} not started");
        Console.Out.WriteLine(stopping.IsCancellationRequested
            ? $"interrupted: {string.Join(", ", parts)}; continue the sweep with '{CommandName.Value} sweep local {dir.Path}' (interrupted trials resume where they stopped)"
            : $"{string.Join(", ", parts)}; see '{CommandName.Value} sweep report {dir.Path}'");
        return stopping.IsCancellationRequested ? ExitCodes.Interrupted : failed > 0 ? ExitCodes.Failure : ExitCodes.Ok;
    }

    private static int Slurm(SweepDirectory dir, SweepOptions o)
    {
        var (_, trials) = dir.Load();
        var path = System.IO.Path.Combine(dir.Path, "sweep.sbatch");
        AtomicFile.WriteAllText(path, SweepScripts.SlurmArray(dir, trials.Count, o.MaxRunning, o.Partition, o.CpusPerTask, o.GpusPerTask));
        Directory.CreateDirectory(System.IO.Path.Combine(dir.Path, "logs"));
        Console.Out.WriteLine($"wrote {path}: an array job of {trials.Count} tasks");
        if (!o.Submit)
            return ExitCodes.Ok;
        ProcessStartInfo start = new("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--parsable");
        start.ArgumentList.Add(path);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new FashionGpuException($"sbatch was not found; run this on a Slurm login node, or submit {path} there");
        }
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new FashionGpuException($"sbatch refused {path}: {errors.Trim().Split('\n')[0]}");
        var job = output.Trim().Split(';')[0];
        AtomicFile.WriteAllText(System.IO.Path.Combine(dir.Path, "slurm-job"), job + "\n");
        Console.Out.WriteLine($"submitted Slurm job {job}");
        return ExitCodes.Ok;
    }

    /// <summary>This program again, as it was started, with its error line captured; its output passes through.</summary>
    private static (int Code, string Error) Self(string[] args, CancellationToken stopping, IDictionary<string, string>? environment = null)
    {
        var process = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(process) { RedirectStandardError = true };
        if (System.IO.Path.GetFileNameWithoutExtension(process) == "dotnet")
            start.ArgumentList.Add(typeof(SweepJob).Assembly.Location);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var child = Process.Start(start)!;
        using var registration = stopping.Register(() =>
        {
            try
            {
                Process.Start("kill", ["-INT", child.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit();
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        });
        var error = "";
        string? line;
        while ((line = child.StandardError.ReadLine()) is not null)
        {
            Console.Error.WriteLine(line);
            if (line.StartsWith("error: ", StringComparison.Ordinal))
                error = line["error: ".Length..];
        }
        child.WaitForExit();
        return (child.ExitCode, error);
    }
}
