using System.Globalization;
using System.Text;

namespace FashionGpu.Cli.Sweeps;

/// <summary>The scheduler files a sweep is submitted with: a Slurm array job and a Kubernetes Indexed Job.</summary>
public static class SweepScripts
{
    /// <summary>The command a task runs: this program as it was started, by absolute path.</summary>
    private static string Program()
    {
        var process = Environment.ProcessPath ?? "fashiongpu";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"{Quote(process)} {Quote(typeof(SweepScripts).Assembly.Location)}"
            : Quote(process);
    }

    private static string Quote(string s) => s.All(c => char.IsLetterOrDigit(c) || "/._-:=".Contains(c)) ? s : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>An sbatch script whose array tasks 0..N-1 (at most M at once) each run `sweep run DIR`.</summary>
    public static string SlurmArray(SweepDirectory dir, int trials, int? maxRunning, string? partition, int cpusPerTask, int? gpusPerTask)
    {
        var inv = CultureInfo.InvariantCulture;
        var root = Path.GetFullPath(dir.Path);
        var text = new StringBuilder();
        text.AppendLine("#!/bin/bash");
        text.AppendLine(inv, $"#SBATCH --job-name=fashiongpu-sweep");
        text.AppendLine(inv, $"#SBATCH --array=0-{trials - 1}{(maxRunning is { } m ? $"%{m}" : "")}");
        text.AppendLine(inv, $"#SBATCH --cpus-per-task={cpusPerTask}");
        if (gpusPerTask is { } g)
            text.AppendLine(inv, $"#SBATCH --gpus-per-task={g}");
        if (partition is not null)
            text.AppendLine(inv, $"#SBATCH --partition={partition}");
        text.AppendLine(inv, $"#SBATCH --output={root}/logs/%A_%a.out");
        text.AppendLine(inv, $"#SBATCH --chdir={root}");
        text.AppendLine("# Each task trains one trial (SLURM_ARRAY_TASK_ID) on the cores Slurm gave it; a finished trial is skipped,");
        text.AppendLine("# an interrupted one resumes, so resubmitting the array is safe.");
        text.AppendLine("export DOTNET_PROCESSOR_COUNT=${SLURM_CPUS_PER_TASK:-1}");
        text.AppendLine(inv, $"exec {Program()} sweep run {Quote(root)}");
        return text.ToString();
    }

    /// <summary>
    /// A Kubernetes Job in Indexed completion mode: completions N, parallelism M, each pod running `sweep run DIR`
    /// (JOB_COMPLETION_INDEX picks the trial) with DIR on a shared volume.
    /// </summary>
    public static string KubernetesJob(SweepDirectory dir, int trials, int parallelism, string image, string claim, int cpus, int? gpus)
    {
        var inv = CultureInfo.InvariantCulture;
        var root = Path.GetFullPath(dir.Path);
        var name = "fashiongpu-sweep-" + new string(Path.GetFileName(root).ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        var gpuLimit = gpus is { } g ? string.Create(inv, $"\n              nvidia.com/gpu: {g}") : "";
        return string.Create(inv, $$"""
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: {{name}}
            spec:
              completionMode: Indexed
              completions: {{trials}}
              parallelism: {{parallelism}}
              backoffLimitPerIndex: 1
              template:
                spec:
                  restartPolicy: Never
                  containers:
                    - name: trial
                      image: {{image}}
                      command: ["fashiongpu", "sweep", "run", "{{root}}"]
                      env:
                        - name: DOTNET_PROCESSOR_COUNT
                          value: "{{cpus}}"
                      resources:
                        limits:
                          cpu: "{{cpus}}"{{gpuLimit}}
                      volumeMounts:
                        - name: sweep
                          mountPath: {{root}}
                  volumes:
                    - name: sweep
                      persistentVolumeClaim:
                        claimName: {{claim}}

            """);
    }
}
