namespace FashionGpu.Cli;

public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;
}

/// <summary>A bad flag or configuration value: reported as `error: …` with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
