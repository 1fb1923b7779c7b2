namespace FashionGpu.Tests.Support;

public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fashiongpu-test-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    public static string Sample => Path.Combine(Root, "data", "sample");
    public static string SampleCsv => Path.Combine(Root, "data", "sample-csv");
    public const string SystemData = "/usr/share/datasets/fashion-mnist";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FashionGpu.sln")))
                return dir.FullName;
        throw new InvalidOperationException("FashionGpu.sln not found above " + AppContext.BaseDirectory);
    }
}
