namespace FashionGpu.Runtime.Model;

/// <summary>The built-in models `--model NAME` names; `seed` is the default.</summary>
public static class ModelPresets
{
    public const string Default = "seed";

    private static readonly Dictionary<string, (string Description, string Json)> All = new()
    {
        ["seed"] = ("the reference: conv 32@3x3, max-pool, dropout 0.2, dense 128, dense 10",
            """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "valid"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "dropout", "rate": 0.2}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]}"""),
        ["cnn2"] = ("two conv blocks with batchnorm: conv 32 same + BN + pool, conv 64 same + BN + pool, dropout 0.3, dense 128 + BN, dense 10",
            """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "dropout", "rate": 0.3}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 10}]}"""),
        ["cnn2pool"] = ("cnn2 with each conv pooled before its batchnorm and no dropout (augmentation regularises it): conv 32 same + pool + BN, conv 64 same + pool + BN, dense 128 + BN, dense 10",
            """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 10}]}"""),
        ["cnn24pool"] = ("cnn2pool at 24 and 48 channels, for the fast and best recipes: conv 24 same + pool + BN, conv 48 same + pool + BN, dense 128 + BN, dense 10",
            """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 24, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "conv2d", "filters": 48, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 10}]}"""),
        ["cnn4"] = ("four convolutions in two pooled blocks, for the record recipe: conv 32 same + BN, conv 32 same + pool + BN, conv 64 same + BN, conv 64 same + pool + BN (ReLU after each BN), dense 256 + BN, dense 10",
            """{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same"}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same"}, {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 256}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 10}]}"""),
    };

    public static IEnumerable<(string Name, string Description)> List => All.Select(p => (p.Key, p.Value.Description));

    public static bool Exists(string name) => All.ContainsKey(name);

    public static string Names => string.Join(", ", All.Keys);

    public static ModelDefinition Get(string name) => All.TryGetValue(name, out var preset)
        ? ModelDefinition.Parse(preset.Json, $"preset {name}")
        : throw new FashionGpuException($"no model preset \"{name}\"; the presets are {string.Join(", ", All.Keys)} (or give --model-file FILE)");

    /// <summary>The seed model as checkpoints written before models were data ran it: with their pixel scale.</summary>
    public static ModelDefinition Seed(float scale) => Get("seed") with { Scale = scale };
}
