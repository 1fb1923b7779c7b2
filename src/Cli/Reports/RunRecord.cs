using System.Text.Json;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Cli.Reports;

public sealed record ClassRow(string Name, double Precision, double Recall, double F1, int Support);

public sealed record MisclassifiedRow(int Index, int Label, int Predicted, double Confidence);

/// <summary>report.json, as `fashiongpu evaluate` writes it.</summary>
public sealed record EvaluationReportFile
{
    public string Checkpoint { get; init; } = "";
    public int? Epoch { get; init; }
    public string Data { get; init; } = "";
    public string DataVerification { get; init; } = "";
    public string TestPixelsSha256 { get; init; } = "";
    public string Device { get; init; } = "";
    /// <summary>Test-time augmentation also measured: none or flip. Every other figure here is the model's own.</summary>
    public string Tta { get; init; } = "none";
    /// <summary>The accuracy of <see cref="Tta"/> (flip: each image's probabilities averaged with its mirror's); never the model's accuracy.</summary>
    public double? TtaAccuracy { get; init; }
    public double Seconds { get; init; }
    public int Parameters { get; init; }
    public int Samples { get; init; }
    public double Accuracy { get; init; }
    public double MacroPrecision { get; init; }
    public double MacroRecall { get; init; }
    public double MacroF1 { get; init; }
    public double? Loss { get; init; }
    public IReadOnlyList<ClassRow> Classes { get; init; } = [];
    public int[][] Confusion { get; init; } = [];
    public IReadOnlyList<MisclassifiedRow> Misclassified { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new(CheckpointInfo.Json);

    /// <summary>
    /// Reads report.json. Reports of earlier versions with test-time augmentation hold only the augmented figures in
    /// place of the model's: they are read as no report at all (null), never as the model's accuracy.
    /// </summary>
    public static EvaluationReportFile? Read(string path)
    {
        var report = JsonSerializer.Deserialize<EvaluationReportFile>(File.ReadAllText(path), Json);
        return report is { Tta: not "none", TtaAccuracy: null } ? null : report;
    }
}

/// <summary>What a run directory holds: its configuration, the epochs so far and, once evaluated, the test report.</summary>
public sealed record RunRecord(string Directory, RunConfiguration Config, IReadOnlyList<EpochMetrics> Epochs, EvaluationReportFile? Test)
{
    public static RunRecord Load(string directory)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new UsageException($"{directory} is not a run directory (no config.json); give a directory written by '{CommandName.Value} train'");
        try
        {
            var config = JsonSerializer.Deserialize<RunConfiguration>(File.ReadAllText(configPath), CheckpointInfo.Json)!;
            var metricsPath = Path.Combine(directory, "metrics.jsonl");
            var epochs = File.Exists(metricsPath)
                ? File.ReadLines(metricsPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EpochMetrics>(l, Trainer.MetricsJson)!).ToArray()
                : [];
            var reportPath = Path.Combine(directory, "report.json");
            var test = File.Exists(reportPath) ? EvaluationReportFile.Read(reportPath) : null;
            return new RunRecord(Path.GetFullPath(directory), config, epochs, test);
        }
        catch (JsonException e)
        {
            throw new FashionGpuException($"{directory}: a run file is not valid JSON ({JsonProblem.Describe(e)})");
        }
    }

    public double? BestValidationAccuracy => Epochs.Count == 0 ? null : Epochs.Max(e => e.ValidationAccuracy);
    public double? ImagesPerSecond => Epochs.Count == 0 ? null : Epochs.Average(e => e.ImagesPerSecond);
}
