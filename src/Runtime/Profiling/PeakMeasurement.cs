namespace FashionGpu.Runtime.Profiling;

/// <summary>An engine's measured arithmetic peak (<paramref name="Description"/> says how), and products of the model timed alone against it.</summary>
public sealed record PeakMeasurement(double Gflops, string Description, IReadOnlyList<(string Name, double Gflops)> Products);
