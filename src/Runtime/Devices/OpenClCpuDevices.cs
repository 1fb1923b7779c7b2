using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU.Runtime.OpenCL;

namespace FashionGpu.Runtime.Devices;

/// <summary>
/// OpenCL devices that run on the host's CPU (PoCL), admitted only when FASHIONGPU_OPENCL_CPU=1. ILGPU 1.5 refuses
/// them: they report no generic address space, which ILGPU's OpenCL C uses for every array view. Admitting one takes
/// two steps outside ILGPU's public surface: its capability is forced (a non-public setter of CLCapabilityContext), and,
/// since PoCL's compiler still rejects the <c>__generic</c> qualifier, <c>-D__generic=__global</c> goes into
/// POCL_EXTRA_BUILD_FLAGS, so generic pointers become global ones. That is exact for kernels whose views all live in
/// global memory; a kernel viewing shared or private memory through one fails to build, loudly, so on these devices
/// the kernel set takes its CPU paths, which use no shared memory. They are never what `--device auto` picks.
/// </summary>
public static class OpenClCpuDevices
{
    public const string Variable = "FASHIONGPU_OPENCL_CPU";
    public const string PoclFlagsVariable = "POCL_EXTRA_BUILD_FLAGS";
    public const string GenericAsGlobal = "-D__generic=__global";

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>ILGPU's own filter for GPUs and other non-CPU devices; CPU devices when enabled, their capability forced.</summary>
    public static bool Admit(CLDevice device)
    {
        if (device.DeviceType != CLDeviceType.CL_DEVICE_TYPE_CPU)
            return device.CLStdVersion >= ILGPU.Backends.OpenCL.CLBackend.MinimumVersion && device.Capabilities.GenericAddressSpace;
        if (!Enabled)
            return false;
        if (!device.Capabilities.GenericAddressSpace)
        {
            ForceGenericAddressSpace(device.Capabilities);
            AddPoclBuildFlag();
        }
        return device.CLStdVersion >= ILGPU.Backends.OpenCL.CLBackend.MinimumVersion;
    }

    public static bool IsCpu(CLDevice device) => device.DeviceType == CLDeviceType.CL_DEVICE_TYPE_CPU;

    /// <summary>Sets CLCapabilityContext.GenericAddressSpace; a clear error if ILGPU no longer has that setter.</summary>
    public static void ForceGenericAddressSpace(CLCapabilityContext capabilities)
    {
        var setter = GenericAddressSpaceSetter ?? throw new FashionGpuException(
            $"{Variable}=1: this ILGPU version has no settable CLCapabilityContext.GenericAddressSpace, so OpenCL CPU devices cannot be admitted; unset {Variable} and use --device cpu or simd");
        setter.Invoke(capabilities, [true]);
    }

    /// <summary>The non-public setter this class depends on (null when ILGPU's internals changed).</summary>
    public static MethodInfo? GenericAddressSpaceSetter =>
        typeof(CLCapabilityContext).GetProperty("GenericAddressSpace", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            ?.GetSetMethod(nonPublic: true);

    /// <summary>
    /// PoCL reads its build flags with getenv when it compiles, so they go into the process's native environment
    /// (Environment.SetEnvironmentVariable changes only .NET's copy on Unix); flags already there are kept.
    /// </summary>
    private static void AddPoclBuildFlag()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var current = Marshal.PtrToStringUTF8(getenv(PoclFlagsVariable)) ?? "";
        if (current.Contains(GenericAsGlobal, StringComparison.Ordinal))
            return;
        if (setenv(PoclFlagsVariable, (current + " " + GenericAsGlobal).Trim(), 1) != 0)
            throw new FashionGpuException($"{Variable}=1: could not set {PoclFlagsVariable}; set it yourself to \"{GenericAsGlobal}\"");
    }

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern nint getenv(string name);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
