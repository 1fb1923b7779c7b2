using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>
/// Opens the engine a device spec names: `simd` (and `auto` without a GPU) is the vectorised host engine; every
/// other kind is an ILGPU accelerator, which the returned engine owns and disposes.
/// </summary>
public static class EngineFactory
{
    /// <summary>Every device an engine can run on, the SIMD engine included; `auto` takes a GPU if there is one, else the SIMD engine.</summary>
    public static IReadOnlyList<DeviceInfo> Devices()
    {
        var accelerators = ComputeDevice.List();
        var hasGpu = accelerators.Any(d => d.IsAutoChoice && d.Kind != DeviceKind.Cpu);
        var simd = new DeviceInfo("simd", SimdEngine.Description, DeviceKind.Simd, ComputeDevice.HostMemory, !hasGpu);
        return [.. accelerators.Select(d => d with { IsAutoChoice = hasGpu && d.IsAutoChoice }), simd];
    }

    public static IEngine Open(DeviceSpec spec, ModelPlan model, TrainingSettings settings)
    {
        if (spec.Kind == DeviceKind.Simd || (spec.Kind == DeviceKind.Auto && !Devices().Any(d => d.IsAutoChoice && d.Kind != DeviceKind.Simd)))
            return new SimdEngine(model, settings);
        var device = ComputeDevice.Open(spec);
        try
        {
            return new IlgpuEngine(device, model, settings, ownsDevice: true);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
