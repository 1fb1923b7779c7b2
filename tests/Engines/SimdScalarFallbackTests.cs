using System.Text.Json;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>
/// The SIMD engine's scalar fallback (machines without AVX2): the real process with AVX2 switched off in the runtime
/// trains one epoch and must land where the vectorised engine does. The two differ only in the order of float sums
/// (lanes vs one accumulator), so losses agree to 1e-3 relative after 16 steps, not bit for bit.
/// </summary>
public sealed class SimdScalarFallbackTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private JsonElement TrainOneEpoch(string run, bool scalar, out string stderr)
    {
        var environment = scalar ? new Dictionary<string, string?> { ["DOTNET_EnableAVX2"] = "0" } : null;
        var (exit, stdout, err) = CliProcess.Run(_temp.Path, environment, "train", "--device", "simd", "--data-dir", RepoPaths.Sample,
            "--limit-train", "640", "--epochs", "1", "--json", "--run-dir", _temp.File(run));
        Assert.True(exit == 0, err);
        stderr = err;
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
    }

    [Fact]
    public void Training_without_vector_instructions_matches_the_vectorised_engine()
    {
        var vectorised = TrainOneEpoch("vectorised", scalar: false, out var vectorisedLog);
        var scalar = TrainOneEpoch("scalar", scalar: true, out var scalarLog);

        Assert.Contains("256-bit vectors", vectorisedLog);
        Assert.Contains("scalar", scalarLog);
        foreach (var metric in new[] { "train_loss", "validation_loss" })
        {
            var (want, got) = (vectorised.GetProperty(metric).GetDouble(), scalar.GetProperty(metric).GetDouble());
            Assert.True(Math.Abs(got - want) <= 1e-3 * Math.Abs(want), $"{metric}: scalar {got}, vectorised {want}");
        }
        foreach (var metric in new[] { "train_accuracy", "validation_accuracy" })
            Assert.InRange(scalar.GetProperty(metric).GetDouble(), vectorised.GetProperty(metric).GetDouble() - 0.02, vectorised.GetProperty(metric).GetDouble() + 0.02);
    }
}
