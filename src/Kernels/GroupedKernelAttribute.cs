namespace FashionGpu.Kernels;

/// <summary>
/// Marks an explicitly grouped kernel: it has no index parameter, reads Grid/Group indices itself and is launched
/// with a KernelConfig whose group size is <see cref="GroupSize"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class GroupedKernelAttribute(int groupSize) : Attribute
{
    public int GroupSize { get; } = groupSize;
}
