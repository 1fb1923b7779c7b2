using System.Text.Json;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>`fashiongpu sweep` through the real process: planning, running, failure isolation, schedulers, report.</summary>
public sealed class SweepTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => CliProcess.Run(_temp.Path, args);

    private static string Grid(string extraBase = "", string grid = """{"learning_rate": [0.0003, 0.003], "batch_size": [32, 64]}""") =>
        $$"""{"base": {"model": "seed", "epochs": 1, "limit_train": 300, "data_dir": "{{RepoPaths.Sample}}", "device": "simd"{{extraBase}}}, "grid": {{grid}}, "seeds": [42], "metric": "validation_accuracy", "goal": "maximize"}""";

    private string Plan(string name, string sweep)
    {
        var file = _temp.File(name + ".json");
        File.WriteAllText(file, sweep);
        var dir = _temp.File(name);
        var plan = Run("sweep", "plan", file, "--dir", dir);
        Assert.True(plan.ExitCode == 0, plan.Stderr);
        return dir;
    }

    private JsonElement Report(string dir)
    {
        var report = Run("sweep", "report", dir, "--json");
        Assert.True(report.ExitCode == 0, report.Stderr);
        return JsonDocument.Parse(report.Stdout).RootElement;
    }

    [Fact]
    public void The_same_file_plans_the_same_trials_and_a_different_one_is_refused()
    {
        var dir = Plan("grid", Grid());
        var lines = File.ReadAllLines(Path.Combine(dir, "trials.jsonl"));
        Assert.Equal(4, lines.Length);
        Assert.Equal([0.0003, 0.0003, 0.003, 0.003], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("settings").GetProperty("learning_rate").GetDouble()));
        Assert.Equal([32, 64, 32, 64], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("settings").GetProperty("batch_size").GetInt32()));
        Assert.Equal(0, Run("sweep", "plan", _temp.File("grid.json"), "--dir", dir).ExitCode);
        Assert.Equal(lines, File.ReadAllLines(Path.Combine(dir, "trials.jsonl")));

        File.WriteAllText(_temp.File("other.json"), Grid(grid: """{"learning_rate": [0.01]}"""));
        var refused = Run("sweep", "plan", _temp.File("other.json"), "--dir", dir);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"{dir} already holds a different sweep", refused.Stderr);

        const string random = """{"base": {"epochs": 1}, "random": {"learning_rate": {"log_uniform": [0.0001, 0.01]}, "dropout": {"uniform": [0.1, 0.4]}, "batch_size": {"choice": [32, 64]}}, "trials": 12, "sampler_seed": 1, "seeds": [1, 2]}""";
        var a = File.ReadAllLines(Path.Combine(Plan("random-a", random), "trials.jsonl"));
        var b = File.ReadAllLines(Path.Combine(Plan("random-b", random), "trials.jsonl"));
        Assert.Equal(a, b);
        Assert.Equal(24, a.Length);
        var settings = a.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("settings")).ToArray();
        Assert.All(settings, s => Assert.InRange(s.GetProperty("learning_rate").GetDouble(), 0.0001, 0.01));
        Assert.All(settings, s => Assert.InRange(s.GetProperty("dropout").GetDouble(), 0.1, 0.4));
        Assert.All(settings, s => Assert.Contains(s.GetProperty("batch_size").GetInt32(), new[] { 32, 64 }));
        Assert.True(settings.Select(s => s.GetProperty("learning_rate").GetDouble()).Distinct().Count() == 12);
        Assert.Equal([1UL, 2UL], settings.Take(2).Select(s => s.GetProperty("seed").GetUInt64()));
    }

    [Fact]
    public void Recipe_settings_sweep_like_any_other_flag_and_bad_ones_are_refused_at_planning()
    {
        var dir = Plan("recipe", """{"base": {"model": "fast", "epochs": 1}, "grid": {"optimizer": ["adamw", "sgd"], "augment": ["none", "flip,shift:2"], "label_smoothing": [0.1]}}""");
        var settings = File.ReadAllLines(Path.Combine(dir, "trials.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("settings")).ToArray();
        Assert.Equal(["adamw", "adamw", "sgd", "sgd"], settings.Select(s => s.GetProperty("optimizer").GetString()));
        Assert.Equal(["none", "flip,shift:2", "none", "flip,shift:2"], settings.Select(s => s.GetProperty("augment").GetString()));

        File.WriteAllText(_temp.File("bad-recipe.json"), """{"base": {"epochs": 1}, "grid": {"augment": ["blur"]}}""");
        var refused = Run("sweep", "plan", _temp.File("bad-recipe.json"), "--dir", _temp.File("bad-recipe"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("grid augment: --augment \"blur\": cannot use \"blur\"", refused.Stderr);
    }

    [Theory]
    [InlineData("""{"base": {"epochs": 1}, "grid": {"learning_rate": [-1]}}""", "grid learning_rate: --learning-rate must be a positive number (got -1)")]
    [InlineData("""{"base": {"epoch": 1}, "grid": {"learning_rate": [0.1]}}""", "base epoch: unknown setting \"epoch\"")]
    [InlineData("""{"base": {"epochs": 1.5}, "grid": {"learning_rate": [0.1]}}""", "base epochs: 1.5 is not a whole number")]
    [InlineData("""{"grid": {"learning_rate": [0.1]}, "random": {"dropout": {"uniform": [0, 1]}}}""", "give exactly one of \"grid\"")]
    [InlineData("""{"random": {"dropout": {"gaussian": [0, 1]}}, "trials": 2}""", "random dropout: unknown distribution \"gaussian\"")]
    [InlineData("""{"grid": {"learning_rate": [0.1]}, "budget": 3}""", "unknown key \"budget\"")]
    public void A_bad_sweep_file_is_one_error_line_naming_it(string sweep, string message)
    {
        var file = _temp.File("bad.json");
        File.WriteAllText(file, sweep);
        var result = Run("sweep", "plan", file, "--dir", _temp.File("bad"));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: {file}: {message}", result.Stderr);
        Assert.False(Directory.Exists(_temp.File("bad")));
    }

    [Fact]
    public void The_sweeps_behind_the_recipes_plan_from_the_repository_root_as_their_README_says()
    {
        var folder = Path.Combine(RepoPaths.Root, "sweeps");
        var files = Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);
        var readme = File.ReadAllText(Path.Combine(folder, "README.md"));
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            Assert.Contains($"| `{name}` |", readme);
            var sweep = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            // A grid plans every combination, a random search its "trials", each once per seed.
            var combinations = sweep.TryGetProperty("grid", out var grid)
                ? grid.EnumerateObject().Aggregate(1, (n, p) => n * p.Value.GetArrayLength())
                : sweep.GetProperty("trials").GetInt32();
            var dir = _temp.File("repo-" + name);
            var plan = CliProcess.Run(RepoPaths.Root, "sweep", "plan", Path.Combine("sweeps", name), "--dir", dir);
            Assert.True(plan.ExitCode == 0, $"{name}: {plan.Stderr}");
            Assert.Equal(combinations * sweep.GetProperty("seeds").GetArrayLength(), File.ReadAllLines(Path.Combine(dir, "trials.jsonl")).Length);
        }
    }

    [Fact]
    public void Trials_run_once_resume_when_interrupted_and_fail_alone()
    {
        // Trial 1's data directory exists (paths are checked when the sweep is planned) but holds no data, so it fails when it runs.
        Directory.CreateDirectory(_temp.File("no-data"));
        var dir = Plan("runs", Grid(grid: $$"""{"data_dir": ["{{RepoPaths.Sample}}", "{{_temp.File("no-data")}}"]}"""));
        var first = Run("sweep", "run", dir, "--trial", "0");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("trial 0 is done; skipping it", Run("sweep", "run", dir, "--trial", "0").Stdout);

        var failed = CliProcess.Run(_temp.Path, new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = "1" }, "sweep", "run", dir);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("error: trial 1 failed: ", failed.Stderr);
        var report = Report(dir);
        var states = report.GetProperty("trials").EnumerateArray().ToDictionary(t => t.GetProperty("index").GetInt32(), t => t.GetProperty("state").GetString());
        Assert.Equal("done", states[0]);
        Assert.Equal("failed", states[1]);
        Assert.Equal(0, report.GetProperty("best").GetProperty("index").GetInt32());

        // An interrupted trial resumes where it stopped (40 epochs of 1,000 images: seconds, so the interrupt lands mid-run).
        var long_ = Plan("long", Grid(extraBase: ", \"validation_split\": 0.5", grid: """{"epochs": [40], "limit_train": [2000]}"""));
        using (var running = CliProcess.Start(_temp.Path, ["sweep", "run", long_, "--trial", "0"]))
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!running.Stdout.Contains("epoch 2/40") && DateTime.UtcNow < deadline)
                Thread.Sleep(50);
            running.Interrupt();
            var interrupted = running.WaitForExit(TimeSpan.FromMinutes(1));
            Assert.True(interrupted.ExitCode == 130, $"exit {interrupted.ExitCode}\n{interrupted.Stdout}\n{interrupted.Stderr}");
        }
        Assert.Equal("interrupted", Report(long_).GetProperty("trials")[0].GetProperty("state").GetString());
        var resumed = Run("sweep", "run", long_, "--trial", "0");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming", resumed.Stdout);
        Assert.Equal(40, File.ReadAllLines(Path.Combine(long_, "trials", "0", "metrics.jsonl")).Length);
    }

    [Fact]
    public void Local_runs_every_trial_two_at_a_time_and_the_report_ranks_them()
    {
        var dir = Plan("local", Grid());
        var local = Run("sweep", "local", dir, "--parallel", "2");
        Assert.True(local.ExitCode == 0, local.Stderr);
        Assert.Contains("4 of 4 trials finished", local.Stdout);
        var report = Report(dir);
        var trials = report.GetProperty("trials").EnumerateArray().ToArray();
        Assert.Equal(4, trials.Length);
        Assert.All(trials, t => Assert.Equal("done", t.GetProperty("state").GetString()));
        var accuracies = trials.Select(t => t.GetProperty("validation_accuracy").GetDouble()).ToArray();
        Assert.Equal(accuracies.OrderDescending(), accuracies);
        Assert.Equal(trials[0].GetProperty("index").GetInt32(), report.GetProperty("best").GetProperty("index").GetInt32());
        Assert.True(File.Exists(Path.Combine(dir, "sweep.html")));
        Assert.True(File.Exists(Path.Combine(dir, "sweep_learning_rate.png")));
        Assert.Contains("--learning-rate", report.GetProperty("best").GetProperty("command").GetString());
    }

    [Fact]
    public void The_Slurm_script_and_the_Kubernetes_manifest_run_the_trials_as_arrays()
    {
        // A directory name with a space, a YAML comment sign and colon, a non-ASCII letter, and far past 63 characters.
        var dir = Plan("scripts dir #hash: colon é and a name that goes on well past the sixty-three characters of a label", Grid());
        Assert.Equal(0, Run("sweep", "slurm", dir, "--partition", "gpu", "--cpus-per-task", "4", "--gpus-per-task", "1", "--max-running", "2").ExitCode);
        var sbatch = File.ReadAllText(Path.Combine(dir, "sweep.sbatch"));
        Assert.StartsWith("#!/bin/bash\n", sbatch);
        foreach (var line in new[] { "#SBATCH --array=0-3%2", "#SBATCH --ntasks=1", "#SBATCH --cpus-per-task=4", "#SBATCH --gpus-per-task=1", "#SBATCH --partition=gpu",
                     $"#SBATCH --output=\"{dir}/logs/%A_%a.out\"", $"#SBATCH --chdir=\"{dir}\"", "export DOTNET_PROCESSOR_COUNT=${SLURM_CPUS_PER_TASK:-1}" })
            Assert.Contains(line + "\n", sbatch);
        Assert.Contains($" sweep run '{dir}'\n", sbatch);

        Assert.Equal(0, Run("sweep", "k8s", dir, "--image", "registry/fashiongpu:1 # not a comment", "--claim", "sweeps", "--max-running", "2").ExitCode);
        var job = (Dictionary<object, object>)new YamlDotNet.Serialization.Deserializer().Deserialize<object>(File.ReadAllText(Path.Combine(dir, "sweep-job.yaml")))!;
        object At(object node, params object[] path) => path.Aggregate(node, (n, key) => key is int i ? ((List<object>)n)[i] : ((Dictionary<object, object>)n)[key]);
        Assert.Equal("Job", At(job, "kind"));
        var name = (string)At(job, "metadata", "name");
        Assert.Matches("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name);
        Assert.StartsWith("fashiongpu-sweep-scripts-dir-hash-colon-and-a-name", name);
        Assert.Equal(["Indexed", "4", "2"], new[] { At(job, "spec", "completionMode"), At(job, "spec", "completions"), At(job, "spec", "parallelism") });
        var container = At(job, "spec", "template", "spec", "containers", 0);
        Assert.Equal("registry/fashiongpu:1 # not a comment", At(container, "image"));
        Assert.Equal(new object[] { "fashiongpu", "sweep", "run", dir }, ((List<object>)At(container, "command")).ToArray());
        Assert.Equal(dir, At(container, "volumeMounts", 0, "mountPath"));
        Assert.Equal("sweeps", At(job, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"));
        Assert.Equal(2, Run("sweep", "k8s", dir, "--claim", "Not A Name").ExitCode);
    }

    /// <summary>A real one-node Slurm (.ci/slurm.sh starts one under CI): submit the array, wait for it, read the report.</summary>
    [SkippableFact]
    public void A_sweep_runs_as_a_Slurm_job_array()
    {
        var up = SlurmIsUp();
        if (!up && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail("no Slurm cluster is up under CI; .ci/run should have started one with .ci/slurm.sh");
        Skip.IfNot(up, "no Slurm cluster answers here (sinfo); .ci/slurm.sh start brings up a one-node one");
        // The model file is named relative to the directory the sweep is planned in; the tasks run in the sweep directory.
        File.WriteAllText(_temp.File("tiny model.json"), """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}""");
        var dir = Plan("slurm sweep", Grid().Replace("\"model\": \"seed\"", "\"model_file\": \"tiny model.json\"", StringComparison.Ordinal));
        var submit = Run("sweep", "slurm", dir, "--submit");
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var job = File.ReadAllText(Path.Combine(dir, "slurm-job")).Trim();
        Assert.Contains($"submitted Slurm job {job}", submit.Stdout);
        var deadline = DateTime.UtcNow.AddMinutes(5);
        // squeue lists the array's tasks while any is pending or running (an error for an unknown id lists none).
        while (Tool("squeue", "-h", "-j", job, "-o", "%i").Output.Split('\n').Any(l => l.Trim().StartsWith(job, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            Thread.Sleep(1000);
        var trials = Report(dir).GetProperty("trials").EnumerateArray().ToArray();
        Assert.Equal(4, trials.Length);
        Assert.All(trials, t => Assert.True(t.GetProperty("state").GetString() == "done",
            $"trial {t.GetProperty("index")} is {t.GetProperty("state")}; logs: {string.Join("\n", Directory.GetFiles(Path.Combine(dir, "logs")).Select(File.ReadAllText))}"));
        Assert.Equal(4, Directory.GetFiles(Path.Combine(dir, "logs"), $"{job}_*.out").Length);
    }

    private static bool SlurmIsUp()
    {
        try
        {
            var (code, output) = Tool("sinfo", "-h", "-o", "%T");
            return code == 0 && output.Split('\n').Any(s => s.Trim() is "idle" or "mixed" or "allocated");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static (int Code, string Output) Tool(string name, params string[] args) => ExternalTool.Run(name, args);
}
