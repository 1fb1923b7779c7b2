namespace FashionGpu.Kernels;

/// <summary>
/// Launch shape of an element-wise kernel: thread t handles elements t, t + Stride, t + 2·Stride, … below Count.
/// On a GPU Stride is the element count (one element per thread, coalesced); on the CPU accelerator it is a fraction
/// of it so that each simulated thread does enough work to pay for itself.
/// </summary>
public readonly struct ElementRange
{
    public ElementRange(int count, int stride)
    {
        Count = count;
        Stride = stride;
    }

    public int Count { get; }
    public int Stride { get; }

    public static ElementRange For(int count, int elementsPerThread)
    {
        var threads = Math.Max(1, (count + elementsPerThread - 1) / Math.Max(1, elementsPerThread));
        return new ElementRange(count, threads);
    }
}
