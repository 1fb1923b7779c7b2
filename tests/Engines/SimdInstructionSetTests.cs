using System.Runtime.Intrinsics;
using System.Text.Json;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>
/// The SIMD engine with instruction sets switched off in the runtime, in the real process: without AVX2 (the scalar
/// fallback) it must land where the vectorised engine does, and without AVX-512 it must give the very same bits.
/// </summary>
public sealed class SimdInstructionSetTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private JsonElement TrainOneEpoch(string run, string? switchedOff, out string stderr, params string[] model)
    {
        var environment = switchedOff is null ? null : new Dictionary<string, string?> { [$"DOTNET_Enable{switchedOff}"] = "0" };
        var (exit, stdout, err) = CliProcess.Run(_temp.Path, environment, ["train", "--device", "simd", "--data-dir", RepoPaths.Sample,
            "--limit-train", "640", "--epochs", "1", "--json", "--run-dir", _temp.File(run), .. model]);
        Assert.True(exit == 0, err);
        stderr = err;
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
    }

    /// <summary>
    /// The two differ only in the order of float sums (lanes vs one accumulator), so losses agree to 1e-3 relative
    /// after 16 steps, not bit for bit.
    /// </summary>
    [Fact]
    public void Training_without_vector_instructions_matches_the_vectorised_engine()
    {
        var vectorised = TrainOneEpoch("vectorised", null, out var vectorisedLog);
        var scalar = TrainOneEpoch("scalar", "AVX2", out var scalarLog);

        Assert.Contains("256-bit", vectorisedLog);
        Assert.Contains("scalar", scalarLog);
        foreach (var metric in new[] { "train_loss", "validation_loss" })
        {
            var (want, got) = (vectorised.GetProperty(metric).GetDouble(), scalar.GetProperty(metric).GetDouble());
            Assert.True(Math.Abs(got - want) <= 1e-3 * Math.Abs(want), $"{metric}: scalar {got}, vectorised {want}");
        }
        foreach (var metric in new[] { "train_accuracy", "validation_accuracy" })
            Assert.InRange(scalar.GetProperty(metric).GetDouble(), vectorised.GetProperty(metric).GetDouble() - 0.02, vectorised.GetProperty(metric).GetDouble() + 0.02);
    }

    /// <summary>
    /// The GEMM's 8x32 tiles of 512-bit vectors add the same products in the same order as its 8x16 tiles of 256-bit
    /// ones: a model with multi-channel convolutions and dense layers trains to identical weights either way.
    /// </summary>
    /// <remarks>
    /// Without AVX-512 the JIT also has sixteen vector registers instead of 32, and the product tiles run at half height
    /// (<c>SimdGemm.SixteenRegisters</c>). The odd model's widths (5 filters, 845 and 37 inputs to its dense layers) put
    /// the tiles' edges and the tails of K that are not whole eights through both paths.
    /// </remarks>
    [SkippableTheory]
    [InlineData("fast")]
    [InlineData("odd")]
    public void Training_without_512_bit_vectors_gives_the_same_bits(string name)
    {
        Skip.IfNot(Vector512.IsHardwareAccelerated, "this processor has no 512-bit vectors to switch off");
        string[] choice = ["--model", "fast"];
        if (name == "odd")
        {
            choice = ["--model-file", _temp.File("odd.json")];
            File.WriteAllText(choice[1], """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 5, "kernel": 3, "padding": "valid"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 37}, {"type": "relu"}, {"type": "dense", "units": 10}]}""");
        }
        string[] model = [.. choice, "--batch-size", "64", "--validation-split", "0.2"];
        var wide = TrainOneEpoch(name + "-wide", null, out var wideLog, model);
        var narrow = TrainOneEpoch(name + "-narrow", "AVX512", out var narrowLog, model);

        Assert.Contains("512-bit", wideLog);
        Assert.DoesNotContain("512-bit", narrowLog);
        Assert.Equal(wide.GetProperty("train_loss").GetDouble(), narrow.GetProperty("train_loss").GetDouble());
        var (_, wideState, _) = Checkpoint.Load(Checkpoint.PathOf(_temp.File(name + "-wide"), "last"));
        var (_, narrowState, _) = Checkpoint.Load(Checkpoint.PathOf(_temp.File(name + "-narrow"), "last"));
        Assert.True(wideState.Parameters.AsSpan().SequenceEqual(narrowState.Parameters), "512-bit and 256-bit vectors give different weights");
        Assert.True(wideState.SecondMoment.AsSpan().SequenceEqual(narrowState.SecondMoment), "512-bit and 256-bit vectors give different moments");
    }

    /// <summary>bench's shares of peak are of FMAs as wide as the product tiles': 512-bit ones only where the tiles use them.</summary>
    [Fact]
    public void Bench_measures_its_peak_at_the_width_of_the_product_tiles()
    {
        string? Peak(string? switchedOff)
        {
            var environment = switchedOff is null ? null : new Dictionary<string, string?> { [$"DOTNET_Enable{switchedOff}"] = "0" };
            var (exit, stdout, err) = CliProcess.Run(_temp.Path, environment, "bench", "--device", "simd", "--data-dir", RepoPaths.Sample,
                "--steps", "4", "--json");
            Assert.True(exit == 0, err);
            var bench = JsonDocument.Parse(stdout).RootElement;
            Assert.True(bench.GetProperty("fma_peak_gflops").ValueKind == JsonValueKind.Null || bench.GetProperty("fma_peak_gflops").GetDouble() > 0);
            return bench.GetProperty("fma_peak_description").GetString();
        }

        string Expected(int bits) => bits == 0 ? "none: no vector FMAs on this processor" : $"independent {bits}-bit FMAs on every core";
        Assert.Equal(Expected(Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0), Peak(null));
        Assert.Equal(Expected(Vector256.IsHardwareAccelerated ? 256 : 0), Peak("AVX512"));
    }
}
