using System.Reflection;
using System.Text.RegularExpressions;
using FashionGpu.Kernels;
using FashionGpu.Tests.Support;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Xunit.Abstractions;

namespace FashionGpu.Tests.Kernels;

/// <summary>
/// Every kernel of <see cref="KernelCatalog"/> compiled without a device: to PTX (ISA 7.8) for sm_80 and sm_90 and
/// assembled by NVIDIA's ptxas, which must report no register spills; and to OpenCL C 2.0, which clang-14 must compile.
/// </summary>
public sealed partial class KernelCompilationTests(ITestOutputHelper output)
{
    public static TheoryData<string> Kernels => new(KernelCatalog.All.Select(KernelCatalog.NameOf));

    private static MethodInfo Kernel(string name) => KernelCatalog.All.Single(k => KernelCatalog.NameOf(k) == name);

    private static EntryPointDescription EntryPoint(MethodInfo kernel) => KernelCatalog.IsGrouped(kernel)
        ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel)
        : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);

    private static Context CreateContext() => Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));

    public static string CompilePtx(MethodInfo kernel, CudaArchitecture architecture)
    {
        using var context = CreateContext();
        using var backend = new PTXBackend(context, architecture, CudaInstructionSet.ISA_78, null!);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPoint(kernel), new KernelSpecialization());
        return compiled.PTXAssembly;
    }

    [Fact]
    public void The_catalog_lists_every_kernel()
    {
        // Every *Kernels class contributes its kernels (the catalog is found by reflection, not listed by hand).
        var classes = typeof(KernelCatalog).Assembly.GetTypes().Where(t => t.IsClass && t.Name.EndsWith("Kernels", StringComparison.Ordinal)).ToArray();
        Assert.All(classes, c => Assert.Contains(KernelCatalog.All, k => k.DeclaringType == c));
        Assert.Equal(KernelCatalog.All.Count, KernelCatalog.All.Select(KernelCatalog.NameOf).Distinct().Count());
        Assert.Contains("AvgPool.Forward", KernelCatalog.All.Select(KernelCatalog.NameOf));
        Assert.Contains("BatchNorm.Statistics", KernelCatalog.All.Select(KernelCatalog.NameOf));
        Assert.Contains("Conv2D.BackwardInput", KernelCatalog.All.Select(KernelCatalog.NameOf));
        Assert.Contains("Conv2D.Columns", KernelCatalog.All.Select(KernelCatalog.NameOf));
        Assert.Contains("Gemm.Tiled", KernelCatalog.All.Select(KernelCatalog.NameOf));
        Assert.Single(KernelCatalog.All, KernelCatalog.IsGrouped);
    }

    [SkippableTheory]
    [MemberData(nameof(Kernels))]
    public void Assembles_for_sm_80_and_sm_90_without_spills(string name)
    {
        var ptxas = ExternalTool.Find("ptxas", "FASHIONGPU_PTXAS");
        foreach (var (architecture, sm) in new[] { (CudaArchitecture.SM_80, 80), (CudaArchitecture.SM_90, 90) })
        {
            var ptx = CompilePtx(Kernel(name), architecture);
            Assert.Contains(".version 7.8", ptx);
            Assert.Contains(".entry", ptx);
            // ILGPU 1.5.3 writes `.target sm_80` when asked for SM_90; such PTX is forward compatible and is assembled
            // for sm_90 below.
            var target = TargetPattern().Match(ptx);
            Assert.True(target.Success && int.Parse(target.Groups[1].Value) <= sm, $"unexpected PTX target: {target.Value}");
            Skip.If(ptxas is null, $"{name}: ptxas not found (PATH or FASHIONGPU_PTXAS); PTX generated but not assembled");
            var file = Path.Combine(Path.GetTempPath(), $"fashiongpu-{name}-sm_{sm}-{Environment.ProcessId}.ptx");
            File.WriteAllText(file, ptx);
            try
            {
                var (exit, log) = ExternalTool.Run(ptxas, $"-arch=sm_{sm}", "-v", "-o", "/dev/null", file);
                Assert.True(exit == 0, $"ptxas failed for {name} (sm_{sm}):\n{log}");
                var spills = SpillPattern().Matches(log).Select(m => int.Parse(m.Groups[1].Value) + int.Parse(m.Groups[2].Value));
                Assert.All(spills, s => Assert.True(s == 0, $"{name} spills registers on sm_{sm}:\n{log}"));
                var registers = RegisterPattern().Match(log);
                Assert.True(registers.Success, $"no register report from ptxas for {name}:\n{log}");
                var shared = SharedPattern().Match(log);
                output.WriteLine($"{name} sm_{sm}: {registers.Groups[1].Value} registers, {(shared.Success ? shared.Groups[1].Value : "0")} bytes shared memory, 0 spills");
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kernels))]
    public void Generates_OpenCL_C_that_clang_compiles(string name)
    {
        using var context = CreateContext();
        using var backend = new CLBackend(context, new CLCapabilityContext(false, true, true, true, false),
            CLDeviceVendor.Nvidia, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(EntryPoint(Kernel(name)), new KernelSpecialization());
        Assert.Contains("kernel void", compiled.Source);

        var clang = ExternalTool.Find("clang-14");
        Skip.If(clang is null, $"{name}: clang-14 not found; OpenCL C generated but not compiled");
        var source = Path.Combine(Path.GetTempPath(), $"fashiongpu-{name}-{Environment.ProcessId}.cl");
        File.WriteAllText(source, compiled.Source);
        try
        {
            var (exit, log) = ExternalTool.Run(clang, "-cl-std=CL2.0", "-x", "cl", "-Xclang", "-finclude-default-header",
                "-target", "spir64", "-emit-llvm", "-c", "-o", "/dev/null", source);
            Assert.True(exit == 0, $"clang-14 rejected the OpenCL C of {name}:\n{log}");
        }
        finally
        {
            File.Delete(source);
        }
    }

    [GeneratedRegex(@"(\d+) bytes spill stores, (\d+) bytes spill loads")]
    private static partial Regex SpillPattern();

    [GeneratedRegex(@"\.target sm_(\d+)")]
    private static partial Regex TargetPattern();

    [GeneratedRegex(@"Used (\d+) registers")]
    private static partial Regex RegisterPattern();

    [GeneratedRegex(@"(\d+) bytes smem")]
    private static partial Regex SharedPattern();
}
