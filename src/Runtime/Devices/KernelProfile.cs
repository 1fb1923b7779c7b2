namespace FashionGpu.Runtime.Devices;

/// <summary>Wall time per kernel, measured by synchronising after every launch (only while profiling).</summary>
public sealed class KernelProfile
{
    private readonly Dictionary<string, (long Launches, TimeSpan Time)> _kernels = new();

    public void Add(string kernel, TimeSpan time)
    {
        _kernels.TryGetValue(kernel, out var entry);
        _kernels[kernel] = (entry.Launches + 1, entry.Time + time);
    }

    public IReadOnlyDictionary<string, (long Launches, TimeSpan Time)> Kernels => _kernels;
    public TimeSpan Total => _kernels.Values.Aggregate(TimeSpan.Zero, (sum, k) => sum + k.Time);
}
