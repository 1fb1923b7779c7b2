using System.Diagnostics;

namespace FashionGpu.Tests.Support;

/// <summary>
/// Finds and runs an external compiler (ptxas, clang-14). Where one is missing the test is reported as skipped,
/// except under CI (CI=true), where `.ci/run` installs both and a missing tool is a failure.
/// </summary>
public static class ExternalTool
{
    public static string? Find(string name, string? environmentOverride = null)
    {
        if (environmentOverride is not null && Environment.GetEnvironmentVariable(environmentOverride) is { Length: > 0 } set)
            return File.Exists(set) ? set : throw new InvalidOperationException($"{environmentOverride}={set} does not exist");
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{name} is required under CI; .ci/run should have installed it");
        return null;
    }

    public static (int ExitCode, string Output) Run(string path, params string[] arguments)
    {
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
