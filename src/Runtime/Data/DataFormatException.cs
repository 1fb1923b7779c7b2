namespace FashionGpu.Runtime.Data;

/// <summary>A data file that is not what it should be: the message names the file, the place and the problem.</summary>
public sealed class DataFormatException(string path, string problem)
    : FashionGpuException($"{path}: {problem}")
{
    public string Path { get; } = path;
}
