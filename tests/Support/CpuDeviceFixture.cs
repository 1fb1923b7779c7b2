using FashionGpu.Runtime.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Tests.Support;

/// <summary>One ILGPU CPU accelerator shared by every test in the collection (kernels compile once).</summary>
public sealed class CpuDeviceFixture : IDisposable
{
    private readonly List<IDisposable> _buffers = new();

    public CpuDeviceFixture() => Device = ComputeDevice.Open(new DeviceSpec(DeviceKind.Cpu, null));

    public ComputeDevice Device { get; }
    public KernelSet Kernels => Device.Kernels;

    public ArrayView<T> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = Device.Accelerator.Allocate1D(data.Length == 0 ? new T[1] : data);
        _buffers.Add(buffer);
        return buffer.View.SubView(0, data.Length);
    }

    public ArrayView<T> Allocate<T>(int length) where T : unmanaged => Upload(new T[length]);

    public T[] Download<T>(ArrayView<T> view) where T : unmanaged
    {
        Device.Accelerator.Synchronize();
        var result = new T[view.Length];
        view.CopyToCPU(result);
        return result;
    }

    public void Dispose()
    {
        foreach (var b in _buffers)
            b.Dispose();
        Device.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class CpuAcceleratorCollection : ICollectionFixture<CpuDeviceFixture>
{
    public const string Name = "cpu-accelerator";
}
