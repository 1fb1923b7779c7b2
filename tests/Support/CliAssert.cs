namespace FashionGpu.Tests.Support;

/// <summary>What every failing command must look like to a user.</summary>
public static class CliAssert
{
    /// <summary>
    /// The exit code, exactly one `error:` line that starts with <paramref name="start"/>, and no stack trace.
    /// </summary>
    public static void OneErrorLine((int ExitCode, string Stdout, string Stderr) result, int exitCode, string start)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}\n{result.Stderr}");
        var errors = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 1, $"want exactly one error line:\n{result.Stderr}");
        Assert.StartsWith("error: " + start, errors[0]);
        Assert.DoesNotContain("   at ", result.Stderr);
    }
}
