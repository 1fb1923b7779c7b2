using FashionGpu.Runtime;
using FashionGpu.Runtime.Data;

namespace FashionGpu.Cli.Reports;

/// <summary>Writes a run directory's report, finding the test images for the misclassified grid when it can.</summary>
public static class RunReports
{
    public static IReadOnlyList<string> Write(string runDirectory, string? dataDirectory, LabeledImages? testSet = null)
    {
        var run = RunRecord.Load(runDirectory);
        if (testSet is null && run.Test is { Misclassified.Count: > 0 } test)
        {
            try
            {
                var loaded = FashionMnist.Load(DataLocator.Locate(dataDirectory, [Split.Test]), Split.Test);
                if (loaded.PixelsSha256 == test.TestPixelsSha256)
                    testSet = loaded.Data;
            }
            catch (FashionGpuException)
            {
                // Without the test images the report simply has no grid of them.
            }
        }
        return RunReportWriter.Write(run, testSet);
    }

    /// <summary>
    /// After train or evaluate: a report that cannot be drawn (for any reason, a missing font included) is a warning,
    /// never a failed run; the checkpoints and metrics are already written.
    /// </summary>
    public static void WriteQuietly(string runDirectory, string? dataDirectory, TextWriter output, LabeledImages? testSet = null)
    {
        try
        {
            Write(runDirectory, dataDirectory, testSet);
            output.WriteLine($"report: {Path.Combine(runDirectory, "report.html")}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            output.WriteLine($"warning: no report written ({e.Message}); try '{CommandName.Value} report --run {runDirectory}'");
        }
    }
}
