using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace FashionGpu.Runtime.Devices;

/// <summary>What `fashiongpu devices` shows for one accelerator.</summary>
public sealed record DeviceInfo(string Id, string Name, DeviceKind Kind, long MemoryBytes, bool IsAutoChoice);

/// <summary>
/// One opened accelerator with its ILGPU context. The CPU accelerator is configured as 2 threads per warp, 1 warp per
/// group and one multiprocessor per core: ILGPU runs one OS thread per simulated GPU thread, and this shape costs about
/// 50 ns per thread and 50 µs per launch, against about 1 µs and up to 1 ms for CPUDevice.Default.
/// </summary>
public sealed class ComputeDevice : IDisposable
{
    private readonly Context _context;
    private readonly KernelPaths? _paths;
    private KernelSet? _kernels;

    private ComputeDevice(Context context, Accelerator accelerator, string id, KernelPaths? paths = null)
    {
        _context = context;
        Accelerator = accelerator;
        Id = id;
        _paths = paths;
    }

    public Accelerator Accelerator { get; }
    public string Id { get; }
    public string Name => Accelerator.Name;

    /// <summary>What the device's buffers can use: the GPU's memory, or the host's for accelerators that run on the CPU.</summary>
    public long MemoryBytes => RunsOnHostCpu ? HostMemory : Accelerator.MemorySize;
    public bool IsCpu => Accelerator.AcceleratorType == AcceleratorType.CPU;

    /// <summary>The ILGPU CPU accelerator or an OpenCL device on the host's CPU (PoCL): the kernel set takes its CPU paths.</summary>
    public bool RunsOnHostCpu => IsCpu || Accelerator is CLAccelerator { DeviceType: CLDeviceType.CL_DEVICE_TYPE_CPU };
    public DeviceKind Kind => KindOf(Accelerator.AcceleratorType);

    /// <summary>The kernels, compiled for this accelerator on first use and reused after.</summary>
    public KernelSet Kernels => _kernels ??= new KernelSet(this, _paths);

    public static CPUDevice FastCpuDevice => new(2, 1, Math.Max(1, Environment.ProcessorCount));

    public static Context CreateContext() => Context.Create(builder => builder
        .Cuda()
        .OpenCL(OpenClCpuDevices.Admit)
        .CPU(FastCpuDevice)
        .EnableAlgorithms()
        .Optimize(OptimizationLevel.O2));

    public static ComputeDevice Open(DeviceSpec spec)
    {
        var context = CreateContext();
        try
        {
            var candidates = Enumerate(context);
            var kind = spec.Kind == DeviceKind.Auto ? candidates.First(c => c.Info.IsAutoChoice).Info.Kind : spec.Kind;
            var chosen = candidates.Where(c => c.Info.Kind == kind).ElementAtOrDefault(spec.Kind == DeviceKind.Auto ? 0 : spec.Ordinal ?? 0);
            if (chosen.Device is null)
            {
                var present = string.Join(", ", candidates.Select(c => c.Info.Id).Append("simd"));
                throw new FashionGpuException(
                    $"no {spec} device found (present: {present}); use --device simd, the fast engine without a GPU, or see the devices command");
            }
            var accelerator = chosen.Device.CreateAccelerator(context);
            return new ComputeDevice(context, accelerator, chosen.Info.Id);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The accelerators ILGPU finds; IsAutoChoice marks the first of the preferred kind (cuda, opencl, cpu).</summary>
    public static IReadOnlyList<DeviceInfo> List()
    {
        using var context = CreateContext();
        return Enumerate(context).Select(c => c.Info).ToArray();
    }

    public static long HostMemory => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    private static List<(Device Device, DeviceInfo Info)> Enumerate(Context context)
    {
        var result = new List<(Device, DeviceInfo)>();
        // auto never picks an OpenCL device on the CPU (admitted only by FASHIONGPU_OPENCL_CPU=1).
        static bool OpenClGpu(Device d) => d is CLDevice cl && !OpenClCpuDevices.IsCpu(cl);
        var autoKind = context.Devices.Any(d => d.AcceleratorType == AcceleratorType.Cuda) ? AcceleratorType.Cuda
            : context.Devices.Any(OpenClGpu) ? AcceleratorType.OpenCL
            : AcceleratorType.CPU;
        foreach (var type in new[] { AcceleratorType.Cuda, AcceleratorType.OpenCL, AcceleratorType.CPU })
        {
            var ofType = context.Devices.Where(d => d.AcceleratorType == type).ToArray();
            for (var i = 0; i < ofType.Length; i++)
            {
                var kind = KindOf(type);
                var id = kind == DeviceKind.Cpu ? "cpu" : $"{kind.ToString().ToLowerInvariant()}:{i}";
                var isAuto = type == autoKind && i == 0 && (type != AcceleratorType.OpenCL || OpenClGpu(ofType[i]));
                // ILGPU reports 2^63 bytes for its CPU accelerator; what it can really use is the host's memory.
                var memory = kind == DeviceKind.Cpu ? HostMemory : ofType[i].MemorySize;
                result.Add((ofType[i], new DeviceInfo(id, ofType[i].Name, kind, memory, isAuto)));
            }
        }
        return result;
    }

    private static DeviceKind KindOf(AcceleratorType type) => type switch
    {
        AcceleratorType.Cuda => DeviceKind.Cuda,
        AcceleratorType.OpenCL => DeviceKind.OpenCL,
        _ => DeviceKind.Cpu,
    };

    /// <summary>
    /// A CPU accelerator of a chosen shape whose kernels take <paramref name="paths"/> (tests run the GPU path on one
    /// with 64-thread groups).
    /// </summary>
    internal static ComputeDevice OpenCpu(CPUDevice shape, KernelPaths paths)
    {
        var context = Context.Create(builder => builder.CPU(shape).EnableAlgorithms().Optimize(OptimizationLevel.O2));
        return new ComputeDevice(context, context.GetCPUDevice(0).CreateAccelerator(context), "cpu", paths);
    }

    public void Dispose()
    {
        _kernels?.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
