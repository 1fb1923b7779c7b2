using System.Text.Json;
using System.Text.Json.Nodes;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;

namespace FashionGpu.Cli.Sweeps;

/// <summary>Where a trial stands, read from its directory.</summary>
public enum TrialState
{
    Pending,
    /// <summary>A `train` holds its run directory right now.</summary>
    Running,
    /// <summary>Started and stopped before the end (Ctrl+C, a killed job): running it again resumes it.</summary>
    Interrupted,
    Done,
    Failed,
}

/// <summary>
/// A planned sweep on disk: DIR/sweep.json (the file as planned), DIR/trials.jsonl (one resolved trial per line) and
/// DIR/trials/I, an ordinary run directory per trial plus done.json or failed.json once it ends.
/// </summary>
public sealed class SweepDirectory(string path)
{
    public string Path { get; } = path;
    public string SweepFile => System.IO.Path.Combine(Path, "sweep.json");
    public string TrialsFile => System.IO.Path.Combine(Path, "trials.jsonl");
    public string TrialDirectory(int index) => System.IO.Path.Combine(Path, "trials", index.ToString(System.Globalization.CultureInfo.InvariantCulture));
    public string DoneFile(int index) => System.IO.Path.Combine(TrialDirectory(index), "done.json");
    public string FailedFile(int index) => System.IO.Path.Combine(TrialDirectory(index), "failed.json");

    /// <summary>Writes the plan; planning the same file again is a no-op, a different one over it is refused.</summary>
    public IReadOnlyList<Trial> Plan(SweepDefinition sweep, IReadOnlyList<Trial> trials)
    {
        var text = sweep.Source.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (File.Exists(SweepFile))
        {
            if (File.ReadAllText(SweepFile) != text)
                throw new UsageException($"{Path} already holds a different sweep; plan into another --dir (its trials would not match)");
            return Load().Trials;
        }
        Directory.CreateDirectory(Path);
        AtomicFile.WriteAllText(TrialsFile, string.Concat(trials.Select(t => JsonSerializer.Serialize(new
        {
            index = t.Index,
            settings = t.Settings,
            varied = t.Varied,
        }) + "\n")));
        AtomicFile.WriteAllText(SweepFile, text);
        return trials;
    }

    public (SweepDefinition Sweep, IReadOnlyList<Trial> Trials) Load()
    {
        if (!File.Exists(SweepFile) || !File.Exists(TrialsFile))
            throw new UsageException($"{Path} holds no planned sweep; plan one with '{CommandName.Value} sweep plan SWEEP.json --dir {Path}'");
        var sweep = SweepDefinition.Read(File.ReadAllText(SweepFile), SweepFile);
        var trials = File.ReadAllLines(TrialsFile).Where(l => l.Length > 0).Select(line =>
        {
            var node = JsonNode.Parse(line)!.AsObject();
            var settings = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
            foreach (var (key, value) in node["settings"]!.AsObject())
                settings[key] = value!.DeepClone();
            return new Trial(node["index"]!.GetValue<int>(), settings, node["varied"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray());
        }).ToArray();
        return (sweep, trials);
    }

    public TrialState State(int index) =>
        File.Exists(DoneFile(index)) ? TrialState.Done
        : File.Exists(FailedFile(index)) ? TrialState.Failed
        : Jobs.RunLock.IsHeld(TrialDirectory(index)) ? TrialState.Running
        : Directory.Exists(TrialDirectory(index)) && Directory.EnumerateFileSystemEntries(TrialDirectory(index)).Any() ? TrialState.Interrupted
        : TrialState.Pending;
}
