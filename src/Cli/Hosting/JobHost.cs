using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FashionGpu.Cli.Hosting;

/// <summary>A command's work, run by the host on its own thread; the token fires on Ctrl+C or SIGTERM.</summary>
public interface IJob
{
    int Run(CancellationToken stopping);

    /// <summary>How long the job has, once its token fires, to finish its step, save and return before it is abandoned.</summary>
    TimeSpan StopGrace => JobHost.DefaultStopGrace;
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
        try
        {
            return RunHost<TJob>(verbose, configure);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            // appsettings.json that does not parse: reported before any logger exists.
            Console.Error.WriteLine($"error: {ErrorReporter.Describe(e).Message}");
            return ExitCodes.Usage;
        }
    }

    private static int RunHost<TJob>(bool verbose, Action<HostApplicationBuilder> configure) where TJob : class, IJob
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
        if (!result.Started)
        {
            // Ctrl+C or SIGTERM reached the host before the job began: nothing ran, so nothing is half done.
            Console.Error.WriteLine("error: interrupted before the work began; nothing was done");
            return ExitCodes.Interrupted;
        }
        if (result.Abandoned)
        {
            // The job's thread, or a device's, may keep the process alive: leave without waiting for them.
            Console.Out.Flush();
            Environment.Exit(ExitCodes.Interrupted);
        }
        return result.ExitCode;
    }

    public sealed class JobResult
    {
        public int ExitCode { get; set; } = ExitCodes.Failure;

        /// <summary>The job began (false when the host was stopped before it could).</summary>
        public bool Started { get; set; }

        /// <summary>The job was still running when its stop grace ran out; its thread is left behind.</summary>
        public bool Abandoned { get; set; }
    }

    /// <summary>
    /// Runs the job on a thread of its own. On Ctrl+C or SIGTERM the job is told through its token and gets
    /// <see cref="IJob.StopGrace"/> to finish its step, save and return; a job still busy after that (inside a step of a
    /// huge model, say) is abandoned once no file write is half done, and the process exits 130. Every file is written
    /// atomically, so an abandoned job leaves the files it wrote before, never half of one.
    /// </summary>
    private sealed class JobRunner(IJob job, JobResult result, IHostApplicationLifetime lifetime, ILogger<JobRunner> logger)
        : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                lifetime.StopApplication();
                return;
            }
            result.Started = true;
            var work = Task.Factory.StartNew(() =>
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
            var stopped = new TaskCompletionSource();
            await using (stoppingToken.Register(() => stopped.TrySetResult()))
                if (await Task.WhenAny(work, stopped.Task) == work)
                    return;
            if (await Task.WhenAny(work, Task.Delay(job.StopGrace)) == work)
                return;
            AtomicFile.CloseForExit();
            if (work.IsCompleted)
                return;
            result.Abandoned = true;
            Console.Error.WriteLine($"error: interrupted: the work in progress did not stop within {job.StopGrace.TotalSeconds:0} s, so it was abandoned " +
                "(files written before it are kept, none is half written)");
        }
    }

    /// <summary>How long a job has, after Ctrl+C or SIGTERM, to finish its step and save before it is abandoned.</summary>
    public static readonly TimeSpan DefaultStopGrace = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Turns an exception into one `error: …` line that names the problem and the fix, never a .NET type name (the stack
/// trace only at --verbose), and an exit code: 2 for usage and configuration, 1 for the rest.
/// </summary>
public static class ErrorReporter
{
    public static int Report(Exception e, ILogger logger)
    {
        var (code, message) = Describe(e);
        Console.Error.WriteLine($"error: {message}");
        logger.LogDebug(e, "details");
        return code;
    }

    public static (int Code, string Message) Describe(Exception e) => e switch
    {
        UsageException u => (ExitCodes.Usage, u.Message),
        OperationCanceledException => (ExitCodes.Interrupted, "interrupted before the result was complete; nothing was reported or written"),
        FashionGpuException f => (ExitCodes.Failure, f.Message),
        OutOfMemoryException => (ExitCodes.Failure, "out of memory; try a smaller --batch-size or --limit-train"),
        InvalidOperationException when e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            (ExitCodes.Usage, ConfigurationValue(e.Message)),
        InvalidDataException or FormatException when e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) || e.InnerException is System.Text.Json.JsonException =>
            (ExitCodes.Usage, $"the configuration file could not be read ({(e.InnerException ?? e).Message.Split('\n')[0].TrimEnd('.')}); fix or remove appsettings.json beside the program"),
        UnauthorizedAccessException => (ExitCodes.Failure, $"{Sentence(e.Message)}; choose a path you may write to"),
        DirectoryNotFoundException or FileNotFoundException => (ExitCodes.Failure, $"{Sentence(e.Message)}; check the path"),
        IOException when e.HResult == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) =>
            (ExitCodes.Failure, $"{Sentence(e.Message)}; free some space or write elsewhere (nothing good was overwritten)"),
        IOException => (ExitCodes.Failure, $"{Sentence(e.Message)}; check the path and the disk"),
        _ => (ExitCodes.Failure, $"unexpected failure: {Sentence(e.Message)} (run with --verbose for details, and please report it)"),
    };

    private static string Sentence(string message) => message.Split('\n')[0].Trim().TrimEnd('.');

    /// <summary>"Failed to convert configuration value 'abc' at 'Train:Epochs' to type 'System.Int32'." as the key, the value and where it comes from.</summary>
    private static string ConfigurationValue(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'");
        var (value, key, type) = (match.Groups["value"].Value, match.Groups["key"].Value, match.Groups["type"].Value);
        var kind = type.Contains("Int", StringComparison.Ordinal) ? "a whole number" : type.Contains("Double", StringComparison.Ordinal) ? "a number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false" : "a valid value";
        return $"configuration value {key} is '{value}', it must be {kind}; fix FASHIONGPU__{key.Replace(":", "__", StringComparison.Ordinal)} or appsettings.json";
    }
}
