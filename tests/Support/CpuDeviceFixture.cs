using FashionGpu.Runtime.Devices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace FashionGpu.Tests.Support;

/// <summary>An accelerator shared by the tests of a collection (kernels compile once), with upload/download helpers.</summary>
public abstract class DeviceFixture(ComputeDevice device) : IDisposable
{
    private readonly List<IDisposable> _buffers = new();

    public ComputeDevice Device { get; } = device;
    public KernelSet Kernels => Device.Kernels;

    public ArrayView<T> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = Device.Accelerator.Allocate1D(data.Length == 0 ? new T[1] : data);
        lock (_buffers)
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

/// <summary>
/// The device the kernel, layer and engine tests run on: the CPU accelerator as `--device cpu` opens it (register-
/// blocked GEMMs), or the one FASHIONGPU_TEST_DEVICE names (`cuda`, `opencl`: tools/gpu-check.sh runs the suite there).
/// </summary>
public sealed class CpuDeviceFixture() : DeviceFixture(ComputeDevice.Open(
    Environment.GetEnvironmentVariable("FASHIONGPU_TEST_DEVICE") is { Length: > 0 } device ? DeviceSpec.Parse(device) : new DeviceSpec(DeviceKind.Cpu, null)));

/// <summary>
/// A CPU accelerator with 64-thread groups (8 threads x 8 warps), big enough for the explicitly grouped, shared-memory
/// kernels that GPUs run, with the kernel set switched to the tiled GEMM and split-K forced on for small products.
/// </summary>
public sealed class GroupedCpuDeviceFixture() : DeviceFixture(
    ComputeDevice.OpenCpu(new CPUDevice(8, 8, 1), new KernelPaths(GemmPath.Tiled, MinimumGroups: 16)));

[CollectionDefinition(Name)]
public sealed class CpuAcceleratorCollection : ICollectionFixture<CpuDeviceFixture>
{
    public const string Name = "cpu-accelerator";
}

[CollectionDefinition(Name)]
public sealed class GroupedCpuAcceleratorCollection : ICollectionFixture<GroupedCpuDeviceFixture>
{
    public const string Name = "grouped-cpu-accelerator";
}
