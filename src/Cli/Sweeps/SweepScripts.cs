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

    /// <summary>A value inside an #SBATCH line: sbatch reads double-quoted arguments, so a path with a space stays one.</summary>
    private static string SbatchQuote(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || "/._-:=%".Contains(c))
        ? s
        : s.Contains('"', StringComparison.Ordinal) || s.Contains('\\', StringComparison.Ordinal) || s.Contains('\n', StringComparison.Ordinal)
            ? throw new Runtime.FashionGpuException($"the sweep directory {s} holds a double quote, backslash or newline, which an #SBATCH line cannot carry; plan the sweep into another --dir")
            : $"\"{s}\"";

    /// <summary>An sbatch script whose array tasks 0..N-1 (at most M at once) each run `sweep run DIR`.</summary>
    public static string SlurmArray(SweepDirectory dir, int trials, int? maxRunning, string? partition, int cpusPerTask, int? gpusPerTask)
    {
        var inv = CultureInfo.InvariantCulture;
        var root = Path.GetFullPath(dir.Path);
        var text = new StringBuilder();
        text.AppendLine("#!/bin/bash");
        text.AppendLine(inv, $"#SBATCH --job-name=fashiongpu-sweep");
        text.AppendLine(inv, $"#SBATCH --array=0-{trials - 1}{(maxRunning is { } m ? $"%{m}" : "")}");
        // One task per array element: --gpus-per-task needs a task count (Slurm 22.05 refuses it without one).
        text.AppendLine(inv, $"#SBATCH --ntasks=1");
        text.AppendLine(inv, $"#SBATCH --cpus-per-task={cpusPerTask}");
        if (gpusPerTask is { } g)
            text.AppendLine(inv, $"#SBATCH --gpus-per-task={g}");
        if (partition is not null)
            text.AppendLine(inv, $"#SBATCH --partition={SbatchQuote(partition)}");
        text.AppendLine(inv, $"#SBATCH --output={SbatchQuote(root + "/logs/%A_%a.out")}");
        text.AppendLine(inv, $"#SBATCH --chdir={SbatchQuote(root)}");
        text.AppendLine("# Each task trains one trial (SLURM_ARRAY_TASK_ID) on the cores Slurm gave it; a finished trial is skipped,");
        text.AppendLine("# an interrupted one resumes, so resubmitting the array is safe.");
        text.AppendLine("export DOTNET_PROCESSOR_COUNT=${SLURM_CPUS_PER_TASK:-1}");
        text.AppendLine(inv, $"exec {Program()} sweep run {Quote(root)}");
        return text.ToString();
    }

    /// <summary>
    /// A Kubernetes object name for the sweep in <paramref name="root"/>: an RFC 1123 label (at most 63 lowercase ASCII
    /// letters, digits and hyphens, starting and ending with a letter or digit). A name cut short ends in a hash of
    /// the whole path, so two long directory names stay apart.
    /// </summary>
    public static string KubernetesName(string root)
    {
        const string prefix = "fashiongpu-sweep";
        var words = new StringBuilder();
        foreach (var c in Path.GetFileName(root.TrimEnd('/')).ToLowerInvariant())
            words.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        var tail = System.Text.RegularExpressions.Regex.Replace(words.ToString(), "-+", "-").Trim('-');
        var name = tail.Length == 0 ? prefix : $"{prefix}-{tail}";
        if (name.Length <= 63)
            return name;
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..8];
        return $"{name[..(63 - 9)].TrimEnd('-')}-{hash}";
    }

    /// <summary>A YAML double-quoted scalar (JSON's string syntax is valid YAML): any text stays one string.</summary>
    private static string Yaml(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    /// <summary>
    /// A Kubernetes Job in Indexed completion mode: completions N, parallelism M, each pod running `sweep run DIR`
    /// (JOB_COMPLETION_INDEX picks the trial) with DIR on a shared volume. Every string is quoted.
    /// </summary>
    public static string KubernetesJob(SweepDirectory dir, int trials, int parallelism, string image, string claim, int cpus, int? gpus)
    {
        var inv = CultureInfo.InvariantCulture;
        var root = Path.GetFullPath(dir.Path);
        var gpuLimit = gpus is { } g ? string.Create(inv, $"\n              nvidia.com/gpu: {g}") : "";
        return string.Create(inv, $$"""
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: {{Yaml(KubernetesName(root))}}
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
                      image: {{Yaml(image)}}
                      command: ["fashiongpu", "sweep", "run", {{Yaml(root)}}]
                      env:
                        - name: DOTNET_PROCESSOR_COUNT
                          value: "{{cpus}}"
                      resources:
                        limits:
                          cpu: "{{cpus}}"{{gpuLimit}}
                      volumeMounts:
                        - name: sweep
                          mountPath: {{Yaml(root)}}
                  volumes:
                    - name: sweep
                      persistentVolumeClaim:
                        claimName: {{Yaml(claim)}}

            """);
    }
}
