using System.Diagnostics;
using System.Text;

namespace FashionGpu.Tests.Support;

/// <summary>Runs the real `fashiongpu` (the Cli project's build output beside the tests) as a child process.</summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private CliProcess(string workingDirectory, IDictionary<string, string?>? environment, string[] args)
    {
        // SIGINT at its default disposition, whatever this process inherited: a shell that starts the tests in the
        // background ignores it, and an ignored SIGINT passes to every child, which would then never see Ctrl+C.
        var start = new ProcessStartInfo(OperatingSystem.IsLinux() ? "env" : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (OperatingSystem.IsLinux())
            foreach (var a in new[] { "--default-signal=INT", "dotnet" })
                start.ArgumentList.Add(a);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fashiongpu.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment.Remove("FASHIONGPU_DATA");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("FASHIONGPU__", StringComparison.Ordinal)).ToArray())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
            if (value is null)
                start.Environment.Remove(key);
            else
                start.Environment[key] = value;
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static CliProcess Start(string workingDirectory, string[] args, IDictionary<string, string?>? environment = null) =>
        new(workingDirectory, environment, args);

    public static (int ExitCode, string Stdout, string Stderr) Run(string workingDirectory, params string[] args) =>
        Run(workingDirectory, null, args);

    public static (int ExitCode, string Stdout, string Stderr) Run(string workingDirectory, IDictionary<string, string?>? environment, params string[] args)
    {
        using var p = Start(workingDirectory, args, environment);
        return p.WaitForExit(TimeSpan.FromMinutes(3));
    }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    /// <summary>Standard output and standard error so far.</summary>
    public string Output
    {
        get
        {
            lock (_stderr)
                return Stdout + _stderr;
        }
    }

    public void Interrupt() => Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();

    public (int ExitCode, string Stdout, string Stderr) WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fashiongpu did not exit within {timeout}; output so far:\n{Stdout}\n{_stderr}");
        }
        _process.WaitForExit();
        lock (_stderr)
            return (_process.ExitCode, Stdout, _stderr.ToString());
    }

    public void Dispose() => _process.Dispose();
}
