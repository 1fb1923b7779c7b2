namespace FashionGpu.Runtime.Profiling;

/// <summary>
/// Where a training step's time goes, as each engine measures it: wall time per ILGPU kernel (synchronised after every
/// launch) with the threads each launch offered, or per SIMD phase (an op's forward or backward).
/// </summary>
public sealed class StepProfile
{
    private readonly Dictionary<string, (long Launches, TimeSpan Time, long Threads)> _kernels = new();

    /// <param name="threads">Threads the launch offered (0 where it is not a kernel, as the SIMD engine's phases).</param>
    public void Add(string kernel, TimeSpan time, long threads = 0)
    {
        _kernels.TryGetValue(kernel, out var entry);
        _kernels[kernel] = (entry.Launches + 1, entry.Time + time, entry.Threads + threads);
    }

    public IReadOnlyDictionary<string, (long Launches, TimeSpan Time, long Threads)> Kernels => _kernels;
    public TimeSpan Total => _kernels.Values.Aggregate(TimeSpan.Zero, (sum, k) => sum + k.Time);
}
