namespace FashionGpu.Cli;

/// <summary>
/// How the user started this program, for the commands hints print: `fashiongpu` as an installed tool,
/// `dotnet run --project src/Cli -c Release --` from a checkout, `dotnet path/fashiongpu.dll` when run by dotnet.
/// </summary>
public static class CommandName
{
    public static string Value { get; } = Find();

    private static string Find()
    {
        var process = Environment.ProcessPath ?? "";
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            return $"dotnet {Relative(typeof(CommandName).Assembly.Location)}";
        // dotnet run starts the app host in the project's bin/<configuration>/<framework> folder.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var project = output.Parent?.Parent?.Parent;
        if (output.Parent?.Parent?.Name == "bin" && project is not null && File.Exists(Path.Combine(project.FullName, "FashionGpu.Cli.csproj")))
            return $"dotnet run --project {Relative(project.FullName)} -c {output.Parent.Name} --";
        return "fashiongpu";
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) && relative.Count(c => c == Path.DirectorySeparatorChar) > 3 ? path : relative;
    }
}
