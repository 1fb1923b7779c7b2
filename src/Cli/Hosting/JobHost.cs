using FashionGpu.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FashionGpu.Cli.Hosting;

/// <summary>A command's work, run by the host on its own thread; the token fires on Ctrl+C or SIGTERM.</summary>
public interface IJob
{
    int Run(CancellationToken stopping);
}

/// <summary>
/// Runs one <see cref="IJob"/> on the .NET Generic Host: configuration from appsettings.json and FASHIONGPU__*
/// environment variables, logging to stderr, and the console lifetime turning Ctrl+C / SIGTERM into a cancellation
/// that the job answers by finishing its step and saving. The job's exit code becomes the process's.
/// </summary>
public static class JobHost
{
    public static int Run<TJob>(bool verbose, Action<HostApplicationBuilder> configure) where TJob : class, IJob
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        builder.Configuration.AddEnvironmentVariables("FASHIONGPU__");
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.IncludeScopes = false;
        });
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o =>
            o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(5));
        builder.Services.AddSingleton<IJob, TJob>();
        builder.Services.AddSingleton<JobResult>();
        builder.Services.AddHostedService<JobRunner>();
        configure(builder);
        using var host = builder.Build();
        var result = host.Services.GetRequiredService<JobResult>();
        host.Run();
        return result.ExitCode;
    }

    public sealed class JobResult
    {
        public int ExitCode { get; set; } = ExitCodes.Failure;
    }

    private sealed class JobRunner(IJob job, JobResult result, IHostApplicationLifetime lifetime, ILogger<JobRunner> logger)
        : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            Task.Factory.StartNew(() =>
            {
                try
                {
                    result.ExitCode = job.Run(stoppingToken);
                }
                catch (Exception e)
                {
                    result.ExitCode = ErrorReporter.Report(e, logger);
                }
                finally
                {
                    lifetime.StopApplication();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}

/// <summary>Turns an exception into one `error: …` line (the stack trace only at --verbose) and an exit code.</summary>
public static class ErrorReporter
{
    public static int Report(Exception e, ILogger logger)
    {
        var (code, message) = e switch
        {
            UsageException u => (ExitCodes.Usage, u.Message),
            FashionGpuException f => (ExitCodes.Failure, f.Message),
            OutOfMemoryException => (ExitCodes.Failure, "out of memory; try a smaller --batch-size or --limit-train"),
            _ => (ExitCodes.Failure, $"{e.GetType().Name}: {e.Message} (run with --verbose for details)"),
        };
        Console.Error.WriteLine($"error: {message}");
        logger.LogDebug(e, "details");
        return code;
    }
}
