namespace FashionGpu.Runtime.Devices;

public enum DeviceKind
{
    Auto,
    Cuda,
    OpenCL,
    Cpu,
    Simd,
}

/// <summary>
/// A device as the user names it: auto (first of cuda, opencl, simd), simd (the vectorised host engine), cpu (ILGPU's
/// CPU accelerator), cuda, cuda:N, opencl, opencl:N.
/// </summary>
public sealed record DeviceSpec(DeviceKind Kind, int? Ordinal)
{
    public const string Syntax = "auto, simd, cpu, cuda, cuda:N, opencl or opencl:N";

    public static DeviceSpec Auto { get; } = new(DeviceKind.Auto, null);

    public static bool TryParse(string? text, out DeviceSpec spec, out string error)
    {
        spec = Auto;
        error = "";
        var value = (text ?? "auto").Trim().ToLowerInvariant();
        var colon = value.IndexOf(':');
        var name = colon < 0 ? value : value[..colon];
        int? ordinal = null;
        if (colon >= 0)
        {
            if (!int.TryParse(value[(colon + 1)..], out var n) || n < 0)
            {
                error = $"device '{text}' has a bad index; use {Syntax}";
                return false;
            }
            ordinal = n;
        }
        DeviceKind? kind = name switch
        {
            "auto" => DeviceKind.Auto,
            "cuda" => DeviceKind.Cuda,
            "opencl" => DeviceKind.OpenCL,
            "cpu" => DeviceKind.Cpu,
            "simd" => DeviceKind.Simd,
            _ => null,
        };
        if (kind is null || (ordinal is not null && kind is DeviceKind.Auto or DeviceKind.Cpu or DeviceKind.Simd))
        {
            error = $"unknown device '{text}'; use {Syntax}";
            return false;
        }
        spec = new DeviceSpec(kind.Value, ordinal);
        return true;
    }

    public static DeviceSpec Parse(string? text) =>
        TryParse(text, out var spec, out var error) ? spec : throw new FashionGpuException(error);

    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        DeviceKind.Simd => "simd",
        _ => Ordinal is { } n ? $"{Kind.ToString().ToLowerInvariant()}:{n}" : Kind.ToString().ToLowerInvariant(),
    };
}
