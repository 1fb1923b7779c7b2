namespace FashionGpu.Runtime.Checkpoints;

/// <summary>What is wrong with a JSON file the program reads back, in words a user can act on (no .NET type names).</summary>
public static class JsonProblem
{
    /// <summary>"the value at $.epoch has the wrong type or form", or the parser's own account of a syntax error.</summary>
    public static string Describe(System.Text.Json.JsonException e)
    {
        var message = e.Message.Split('\n')[0];
        if (message.Contains("could not be converted to", StringComparison.Ordinal) || message.Contains("System.", StringComparison.Ordinal))
            return e.Path is { Length: > 0 } where ? $"the value at {where} has the wrong type or form" : "a value has the wrong type or form";
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.') + (e.LineNumber is { } line ? $" (line {line + 1})" : "");
    }
}
