using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Reports;
using Microsoft.Extensions.Options;

namespace FashionGpu.Cli.Jobs;

public sealed class ReportOptions
{
    public string? Run { get; set; }
    public string? DataDir { get; set; }
}

/// <summary>`fashiongpu report --run DIR`: the PNG figures and report.html of a run.</summary>
public sealed class ReportJob(IOptions<ReportOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        if (o.Run is null)
            throw new UsageException("give the run directory with --run DIR");
        var written = RunReports.Write(o.Run, o.DataDir);
        Console.Out.WriteLine($"wrote {string.Join(", ", written)} in {Path.GetFullPath(o.Run)}");
        return ExitCodes.Ok;
    }
}
