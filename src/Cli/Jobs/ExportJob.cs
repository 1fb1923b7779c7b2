using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Reports;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Export;
using Microsoft.Extensions.Options;

namespace FashionGpu.Cli.Jobs;

public sealed class ExportOptions
{
    public string? Run { get; set; }
    public string? Checkpoint { get; set; }
    public string? Output { get; set; }
    public int Opset { get; set; } = OnnxExport.DefaultOpset;
}

/// <summary>
/// `fashiongpu export`: a checkpoint as an ONNX model for ONNX Runtime (and ML.NET's ApplyOnnxModel). The test
/// accuracy goes into the metadata when `evaluate` reported on this very checkpoint.
/// </summary>
public sealed class ExportJob(IOptions<ExportOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        if (o.Opset is < OnnxExport.MinimumOpset or > OnnxExport.MaximumOpset)
            throw new UsageException($"--opset must be between {OnnxExport.MinimumOpset} and {OnnxExport.MaximumOpset} (got {o.Opset})");
        var chosen = ChosenCheckpoint.Load(o.Run, o.Checkpoint);
        var output = o.Output ?? (o.Run is not null ? Path.Combine(o.Run, "model.onnx") : Path.ChangeExtension(chosen.Path, ".onnx"));
        OutputFile.Check("--output", output);
        var test = TestReport(chosen);
        var proto = OnnxExport.Build(chosen.Model, chosen.State, OnnxExport.Metadata(chosen.Model, chosen.Info, test?.Accuracy,
            test?.TtaAccuracy is { } tta ? (test.Tta, tta) : null), o.Opset);
        stopping.ThrowIfCancellationRequested();
        try
        {
            OnnxExport.Write(output, proto);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FashionGpuException($"cannot write {output} ({e.Message}); choose a writable --output");
        }
        Console.Out.WriteLine($"wrote {output}: opset {o.Opset}, input '{OnnxExport.Input}' [N,1,28,28] (pixels 0..255), outputs " +
            $"'{OnnxExport.Logits}' and '{OnnxExport.Probabilities}' [N,10]; {chosen.Model.ParameterCount:N0} parameters");
        return ExitCodes.Ok;
    }

    /// <summary>report.json beside the checkpoint, if that report is about this very checkpoint.</summary>
    private static EvaluationReportFile? TestReport(ChosenCheckpoint chosen)
    {
        var path = Path.ChangeExtension(chosen.ReportPath, ".json");
        if (!File.Exists(path))
            return null;
        try
        {
            return EvaluationReportFile.Read(path) is { } report && report.Checkpoint == Path.GetFullPath(chosen.Path) ? report : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
