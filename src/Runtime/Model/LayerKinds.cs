namespace FashionGpu.Runtime.Model;

/// <summary>The one list of layer kinds: everything that needs to know the kinds asks it.</summary>
public static class LayerKinds
{
    public static readonly LayerKind Conv2d = new Kinds.Conv2d();
    public static readonly LayerKind BatchNorm = new Kinds.BatchNorm();
    public static readonly LayerKind Relu = new Kinds.Relu();
    public static readonly LayerKind MaxPool = new Kinds.MaxPool();
    public static readonly LayerKind Dropout = new Kinds.Dropout();
    public static readonly LayerKind Flatten = new Kinds.Flatten();
    public static readonly LayerKind GlobalAvgPool = new Kinds.GlobalAvgPool();
    public static readonly LayerKind Dense = new Kinds.Dense();
    public static readonly LayerKind AvgPool = new Kinds.AvgPool();
    public static readonly LayerKind LeakyRelu = new Kinds.LeakyRelu();

    public static IReadOnlyList<LayerKind> All { get; } = [Conv2d, BatchNorm, Relu, MaxPool, Dropout, Flatten, GlobalAvgPool, Dense, AvgPool, LeakyRelu];

    /// <summary>The kind a model file names, or null.</summary>
    public static LayerKind? Named(string name) => All.FirstOrDefault(k => k.Name == name);

    /// <summary>"conv2d, batchnorm, …": for messages that list the valid types.</summary>
    public static string Names => string.Join(", ", All.Select(k => k.Name));
}
