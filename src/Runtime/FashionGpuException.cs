namespace FashionGpu.Runtime;

/// <summary>A failure the user can act on: its message is one line naming the problem and the fix.</summary>
public class FashionGpuException : Exception
{
    public FashionGpuException(string message) : base(message) { }
    public FashionGpuException(string message, Exception inner) : base(message, inner) { }
}
