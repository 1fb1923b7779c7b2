using System.Globalization;
using System.Text.Json;
using FashionGpu.Runtime.Devices;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>
/// OpenCL on the CPU (PoCL) behind FASHIONGPU_OPENCL_CPU=1: the ILGPU internal it depends on, the device list, and a
/// short training run through the CLI that must agree with the CPU accelerator. The PoCL tests skip visibly where PoCL
/// is not installed (and fail under CI, which installs it).
/// </summary>
public sealed class OpenClCpuTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly Dictionary<string, string?> OptIn = new() { [OpenClCpuDevices.Variable] = "1" };

    private static bool PoclInstalled()
    {
        var present = File.Exists("/etc/OpenCL/vendors/pocl.icd") && ExternalTool.Find("clinfo") is not null;
        if (!present && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException("PoCL is required under CI; .ci/run should have installed pocl-opencl-icd and clinfo");
        return present;
    }

    [Fact]
    public void The_ILGPU_setter_that_admits_OpenCL_CPU_devices_still_exists()
    {
        // If an ILGPU update removes it, FASHIONGPU_OPENCL_CPU=1 fails with a message naming it instead of this test passing.
        Assert.NotNull(OpenClCpuDevices.GenericAddressSpaceSetter);
    }

    [SkippableFact]
    public void PoCL_is_listed_only_when_opted_in_and_never_picked_by_auto()
    {
        Skip.IfNot(PoclInstalled(), "PoCL is not installed (apt-get install pocl-opencl-icd ocl-icd-opencl-dev clinfo)");
        var plain = CliProcess.Run(_temp.Path, new Dictionary<string, string?> { [OpenClCpuDevices.Variable] = null }, "devices");
        Assert.DoesNotContain("opencl", plain.Stdout);
        var admitted = CliProcess.Run(_temp.Path, OptIn, "devices");
        Assert.True(admitted.ExitCode == 0, admitted.Stderr);
        var row = admitted.Stdout.Split('\n').Single(l => l.Contains("opencl:0"));
        Assert.DoesNotContain("yes", row);
        // auto is CUDA where a GPU is present (tools/gpu-check.sh runs this too), else the SIMD engine.
        var auto = Assert.Single(admitted.Stdout.Split('\n'), l => l.Contains("yes"));
        Assert.Contains(auto.Contains("cuda:") ? "cuda:0" : "simd", auto);
    }

    [SkippableFact]
    public void A_short_run_on_PoCL_matches_the_CPU_accelerator()
    {
        Skip.IfNot(PoclInstalled(), "PoCL is not installed (apt-get install pocl-opencl-icd ocl-icd-opencl-dev clinfo)");
        double[] Losses(string device)
        {
            var run = Path.Combine(_temp.Path, device);
            var result = CliProcess.Run(_temp.Path, OptIn, "train", "--device", device, "--data-dir", RepoPaths.Sample, "--limit-train", "640",
                "--epochs", "2", "--run-dir", run, "--json");
            Assert.True(result.ExitCode == 0, result.Stderr);
            return File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
                .SelectMany(e => new[] { e.GetProperty("train_loss").GetDouble(), e.GetProperty("validation_loss").GetDouble() }).ToArray();
        }
        var (opencl, cpu) = (Losses("opencl"), Losses("cpu"));
        // Different compilers (PoCL's clang, .NET's JIT) may contract or order float operations differently.
        for (var i = 0; i < cpu.Length; i++)
            Assert.True(Math.Abs(opencl[i] - cpu[i]) <= 1e-4 * Math.Abs(cpu[i]),
                string.Create(CultureInfo.InvariantCulture, $"loss {i}: opencl {opencl[i]} against cpu {cpu[i]}"));
    }
}
