using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// One layer of a <see cref="ModelDefinition"/>, exactly as written in JSON: only the fields its kind declares are set
/// (conv2d: filters, kernel, padding; maxpool and avgpool: size; dropout: rate; dense: units; leaky_relu: slope).
/// </summary>
public sealed record LayerDefinition(LayerKind Kind, int Filters = 0, int Kernel = 0, bool SamePadding = false, int Size = 0,
    float Rate = 0, int Units = 0, float Slope = 0)
{
    public string Type => Kind.Name;

    /// <summary>The layer as it reads in a summary: "conv2d 32@3x3 same", "dense 128", "dropout 0.2".</summary>
    public string Describe() => Kind.Describe(this);
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
            foreach (var field in layer.Kind.Fields)
                field.Write(json, layer);
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
            throw new FashionGpuException($"{where}: missing \"type\" (one of {LayerKinds.Names})");
        var type = typeElement.GetString()!;
        var kind = LayerKinds.Named(type) ?? throw new FashionGpuException($"{where}: unknown type \"{type}\" (one of {LayerKinds.Names})");
        where = $"{where} ({type})";
        Known(e, ["type", .. kind.Fields.Select(f => f.Name)], where);
        var layer = new LayerDefinition(kind);
        foreach (var field in kind.Fields)
            layer = field.Read(layer, e.TryGetProperty(field.Name, out var value) ? value : null, where);
        return layer;
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
            var i = layers.FindIndex(l => l.Kind == LayerKinds.Conv2d);
            if (i < 0)
                throw new FashionGpuException("--filters: the model has no conv2d layer");
            layers[i] = layers[i] with { Filters = f };
        }
        if (hidden is { } h)
        {
            var i = layers.FindIndex(l => l.Kind == LayerKinds.Dense);
            if (i < 0 || i == layers.FindLastIndex(l => l.Kind == LayerKinds.Dense))
                throw new FashionGpuException("--hidden: the model has no hidden dense layer (only the 10-unit output)");
            layers[i] = layers[i] with { Units = h };
        }
        if (dropout is { } d)
        {
            if (!layers.Any(l => l.Kind == LayerKinds.Dropout))
                throw new FashionGpuException("--dropout: the model has no dropout layer");
            layers = layers.Select(l => l.Kind == LayerKinds.Dropout ? l with { Rate = d } : l).ToList();
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
