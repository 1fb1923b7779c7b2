using System.Reflection;
using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Every kernel in this assembly: the public static methods of the *Kernels classes whose first parameter is the thread
/// index (implicitly grouped), or that carry <see cref="GroupedKernelAttribute"/> (explicitly grouped).
/// </summary>
public static class KernelCatalog
{
    public static IReadOnlyList<MethodInfo> All { get; } = typeof(KernelCatalog).Assembly.GetTypes()
        .Where(t => t.IsClass && t.Name.EndsWith("Kernels", StringComparison.Ordinal))
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
        .Where(m => IsGrouped(m) || (m.GetParameters() is [var first, ..] && first.ParameterType == typeof(Index1D)))
        .OrderBy(m => m.DeclaringType!.Name, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
        .ToArray();

    public static bool IsGrouped(MethodInfo kernel) => kernel.GetCustomAttribute<GroupedKernelAttribute>() is not null;

    public static string NameOf(MethodInfo kernel) => $"{kernel.DeclaringType!.Name.Replace("Kernels", "", StringComparison.Ordinal)}.{kernel.Name}";
}
