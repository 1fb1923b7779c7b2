using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FashionGpu.Runtime.Model;

/// <summary>The layer kinds a model definition can name.</summary>
public enum LayerKind
{
    Conv2d,
    BatchNorm,
    Relu,
    MaxPool,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Dense,
}

/// <summary>
/// One layer of a <see cref="ModelDefinition"/>, exactly as written in JSON: only the fields of its kind are set
/// (conv2d: filters, kernel, padding; maxpool: size; dropout: rate; dense: units).
/// </summary>
public sealed record LayerDefinition(LayerKind Kind, int Filters = 0, int Kernel = 0, bool SamePadding = false, int Size = 0,
    float Rate = 0, int Units = 0)
{
    public static string TypeName(LayerKind kind) => kind switch
    {
        LayerKind.Conv2d => "conv2d",
        LayerKind.BatchNorm => "batchnorm",
        LayerKind.Relu => "relu",
        LayerKind.MaxPool => "maxpool",
        LayerKind.Dropout => "dropout",
        LayerKind.Flatten => "flatten",
        LayerKind.GlobalAvgPool => "global_avg_pool",
        LayerKind.Dense => "dense",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public string Type => TypeName(Kind);

    /// <summary>The layer as it reads in a summary: "conv2d 32@3x3 same", "dense 128", "dropout 0.2".</summary>
    public string Describe() => Kind switch
    {
        LayerKind.Conv2d => string.Create(CultureInfo.InvariantCulture, $"conv2d {Filters}@{Kernel}x{Kernel}{(SamePadding ? " same" : "")}"),
        LayerKind.MaxPool => $"maxpool {Size}x{Size}",
        LayerKind.Dropout => string.Create(CultureInfo.InvariantCulture, $"dropout {Rate:0.###}"),
        LayerKind.Dense => $"dense {Units}",
        _ => Type,
    };
}

/// <summary>
/// A sequential CNN as data: the input shape [C, H, W], the factor raw pixels (0..255) are multiplied by, and the
/// ordered layers. Its JSON form (<see cref="ToJson"/>, <see cref="Parse"/>) is the one model files, checkpoints'
/// `model` metadata and config.json hold:
/// <c>{"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": "valid"}, …]}</c>.
/// </summary>
[JsonConverter(typeof(ModelDefinitionJsonConverter))]
public sealed record ModelDefinition(int[] Input, float Scale, IReadOnlyList<LayerDefinition> Layers)
{
    /// <summary>1/255 as a float: pixels scaled to [0, 1].</summary>
    public const float ScaledPixels = 1f / 255f;

    public bool Equals(ModelDefinition? other) => other is not null && ToJson() == other.ToJson();
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    /// <summary>The canonical JSON (compact, fields in a fixed order): equal models give equal text.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
            Write(json);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("input");
        foreach (var d in Input)
            json.WriteNumberValue(d);
        json.WriteEndArray();
        json.WriteNumber("scale", Scale);
        json.WriteStartArray("layers");
        foreach (var layer in Layers)
        {
            json.WriteStartObject();
            json.WriteString("type", layer.Type);
            switch (layer.Kind)
            {
                case LayerKind.Conv2d:
                    json.WriteNumber("filters", layer.Filters);
                    json.WriteNumber("kernel", layer.Kernel);
                    json.WriteString("padding", layer.SamePadding ? "same" : "valid");
                    break;
                case LayerKind.MaxPool:
                    json.WriteNumber("size", layer.Size);
                    break;
                case LayerKind.Dropout:
                    json.WriteNumber("rate", layer.Rate);
                    break;
                case LayerKind.Dense:
                    json.WriteNumber("units", layer.Units);
                    break;
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Reads a model definition; anything else is a <see cref="FashionGpuException"/> naming what is wrong.</summary>
    /// <param name="origin">Where the text came from, for messages ("model file m.json").</param>
    public static ModelDefinition Parse(string text, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FashionGpuException($"{origin} is not valid JSON ({e.Message})");
        }
        using (document)
            return Read(document.RootElement, origin);
    }

    public static ModelDefinition Read(JsonElement root, string origin)
    {
        FashionGpuException Error(string what) => new($"{origin}: {what}");
        if (root.ValueKind != JsonValueKind.Object)
            throw Error("a model is a JSON object with \"input\", \"scale\" and \"layers\"");
        Known(root, ["input", "scale", "layers"], origin);
        if (!root.TryGetProperty("input", out var inputElement) || inputElement.ValueKind != JsonValueKind.Array
            || inputElement.GetArrayLength() != 3 || inputElement.EnumerateArray().Any(e => !IsPositiveInt(e)))
            throw Error("\"input\" must be [channels, height, width] of positive integers, [1, 28, 28] for Fashion-MNIST");
        var input = inputElement.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (!input.SequenceEqual([1, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide]))
            throw Error($"\"input\" is [{string.Join(", ", input)}], but Fashion-MNIST images are [1, 28, 28]");
        const string scaleUse = "1 for raw 0..255 pixels, 0.003921569 to scale them to [0, 1]";
        if (!root.TryGetProperty("scale", out var scaleElement) || scaleElement.ValueKind != JsonValueKind.Number || !scaleElement.TryGetDouble(out var scale))
            throw Error($"\"scale\" must be a number ({scaleUse})");
        if (SettingRange.PixelScale.Check("\"scale\"", scale) is { } scaleProblem)
            throw Error($"{scaleProblem} ({scaleUse})");
        if (!root.TryGetProperty("layers", out var layersElement) || layersElement.ValueKind != JsonValueKind.Array || layersElement.GetArrayLength() == 0)
            throw Error("\"layers\" must be a non-empty array of layers");
        var layers = new List<LayerDefinition>();
        foreach (var element in layersElement.EnumerateArray())
            layers.Add(ReadLayer(element, $"{origin}: layer {layers.Count + 1}"));
        return new ModelDefinition(input, (float)scale, layers);
    }

    private static LayerDefinition ReadLayer(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new FashionGpuException($"{where}: a layer is an object with a \"type\"");
        if (!e.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            throw new FashionGpuException($"{where}: missing \"type\" (one of {string.Join(", ", Enum.GetValues<LayerKind>().Select(LayerDefinition.TypeName))})");
        var type = typeElement.GetString()!;
        var kind = Enum.GetValues<LayerKind>().Cast<LayerKind?>().FirstOrDefault(k => LayerDefinition.TypeName(k!.Value) == type)
            ?? throw new FashionGpuException($"{where}: unknown type \"{type}\" (one of {string.Join(", ", Enum.GetValues<LayerKind>().Select(LayerDefinition.TypeName))})");
        where = $"{where} ({type})";
        int Int(string name, Func<int, bool> valid, string rule)
        {
            if (!e.TryGetProperty(name, out var v))
                throw new FashionGpuException($"{where}: missing \"{name}\" ({rule})");
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i) || !valid(i))
                throw new FashionGpuException($"{where}: \"{name}\" is {v.GetRawText()}, it must be {rule}");
            return i;
        }
        switch (kind)
        {
            case LayerKind.Conv2d:
                Known(e, ["type", "filters", "kernel", "padding"], where);
                var filters = Int("filters", i => i is >= 1 and <= 4096, "an integer from 1 to 4096");
                var kernel = Int("kernel", i => i is 3 or 5, "3 or 5");
                var same = false;
                if (e.TryGetProperty("padding", out var padding))
                {
                    if (padding.ValueKind != JsonValueKind.String || padding.GetString() is not ("valid" or "same"))
                        throw new FashionGpuException($"{where}: \"padding\" is {padding.GetRawText()}, it must be \"valid\" or \"same\"");
                    same = padding.GetString() == "same";
                }
                return new LayerDefinition(kind, Filters: filters, Kernel: kernel, SamePadding: same);
            case LayerKind.MaxPool:
                Known(e, ["type", "size"], where);
                return new LayerDefinition(kind, Size: e.TryGetProperty("size", out _) ? Int("size", i => i == 2, "2 (2x2 windows, stride 2)") : 2);
            case LayerKind.Dropout:
                Known(e, ["type", "rate"], where);
                if (!e.TryGetProperty("rate", out var rate))
                    throw new FashionGpuException($"{where}: missing \"rate\" (a number in [0, 1))");
                if (rate.ValueKind != JsonValueKind.Number || !rate.TryGetDouble(out var r))
                    throw new FashionGpuException($"{where}: \"rate\" is {rate.GetRawText()}, it must be a number in [0, 1)");
                if (SettingRange.Fraction.Check("\"rate\"", r) is { } rateProblem)
                    throw new FashionGpuException($"{where}: {rateProblem}");
                return new LayerDefinition(kind, Rate: (float)rate.GetDouble());
            case LayerKind.Dense:
                Known(e, ["type", "units"], where);
                return new LayerDefinition(kind, Units: Int("units", i => i is >= 1 and <= 65536, "an integer from 1 to 65536"));
            default:
                Known(e, ["type"], where);
                return new LayerDefinition(kind);
        }
    }

    private static bool IsPositiveInt(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var i) && i > 0;

    private static void Known(JsonElement e, string[] names, string where)
    {
        foreach (var p in e.EnumerateObject())
            if (!names.Contains(p.Name))
                throw new FashionGpuException($"{where}: unknown field \"{p.Name}\" (allowed: {string.Join(", ", names.Select(n => $"\"{n}\""))})");
    }

    /// <summary>
    /// The seed's knobs on any model: <paramref name="filters"/> for the first conv layer, <paramref name="hidden"/> for
    /// the first dense layer that is not the last, <paramref name="dropout"/> for every dropout layer.
    /// </summary>
    public ModelDefinition With(int? filters = null, int? hidden = null, float? dropout = null, float? scale = null)
    {
        var layers = Layers.ToList();
        if (filters is { } f)
        {
            var i = layers.FindIndex(l => l.Kind == LayerKind.Conv2d);
            if (i < 0)
                throw new FashionGpuException("--filters: the model has no conv2d layer");
            layers[i] = layers[i] with { Filters = f };
        }
        if (hidden is { } h)
        {
            var i = layers.FindIndex(l => l.Kind == LayerKind.Dense);
            if (i < 0 || i == layers.FindLastIndex(l => l.Kind == LayerKind.Dense))
                throw new FashionGpuException("--hidden: the model has no hidden dense layer (only the 10-unit output)");
            layers[i] = layers[i] with { Units = h };
        }
        if (dropout is { } d)
        {
            if (!layers.Any(l => l.Kind == LayerKind.Dropout))
                throw new FashionGpuException("--dropout: the model has no dropout layer");
            layers = layers.Select(l => l.Kind == LayerKind.Dropout ? l with { Rate = d } : l).ToList();
        }
        return this with { Layers = layers, Scale = scale ?? Scale };
    }
}

/// <summary>Writes and reads <see cref="ModelDefinition"/> in its own JSON form inside config.json and checkpoint info.</summary>
public sealed class ModelDefinitionJsonConverter : JsonConverter<ModelDefinition>
{
    public override ModelDefinition Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return ModelDefinition.Read(document.RootElement, "model definition");
    }

    public override void Write(Utf8JsonWriter writer, ModelDefinition value, JsonSerializerOptions options) => value.Write(writer);
}
