using FashionGpu.Runtime.Model;

namespace FashionGpu.Tests.Support;

/// <summary>Planned models the tests share.</summary>
public static class Models
{
    /// <summary>The seed preset (pixels scaled to [0, 1]).</summary>
    public static ModelPlan Seed { get; } = new(ModelPresets.Get("seed"));

    /// <summary>The seed model on raw 0..255 pixels, as the reference recipe and the first PyTorch fixture.</summary>
    public static ModelPlan RawSeed { get; } = new(ModelPresets.Seed(1f));

    public static ModelPlan Parse(string json) => new(ModelDefinition.Parse(json, "test model"));
}
