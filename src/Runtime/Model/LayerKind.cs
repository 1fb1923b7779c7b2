using System.Globalization;
using System.Text.Json;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// One kind of layer, described once: its JSON fields (read, validated and written from the same declarations), how
/// it reads in a summary, its shape rule, parameters (PyTorch names and layouts) and FLOPs, the ONNX nodes it exports
/// as and its PyTorch module. Every kind is listed in <see cref="LayerKinds.All"/>; the parser, the plan, the export,
/// the help text and the tests ask that list. Each engine implements a kind's forward and backward in a file of
/// its own (Engines/Simd and Engines/Ilgpu), found by the kind's name.
/// </summary>
public abstract class LayerKind
{
    /// <summary>The "type" a model file names the kind by.</summary>
    public abstract string Name { get; }

    /// <summary>One line for --list-layers and the docs.</summary>
    public abstract string Summary { get; }

    /// <summary>The JSON fields besides "type", in the order they are written.</summary>
    public virtual IReadOnlyList<LayerField> Fields => [];

    /// <summary>False for a kind that only reinterprets its input's shape (flatten): the engines run no op for it.</summary>
    public virtual bool MovesData => true;

    /// <summary>A layer with parameters is named by this and its number among layers of its kind (conv1, bn2, dense1).</summary>
    public virtual string? ParameterPrefix => null;

    /// <summary>The layer as it reads in a summary: "conv2d 32@3x3 same", "dense 128".</summary>
    public virtual string Describe(LayerDefinition layer) =>
        Fields.Count == 0 ? Name : $"{Name} {string.Join(" ", Fields.Select(f => f.Show(layer)))}";

    /// <summary>The output shape of one image, the parameters and the forward FLOPs, or a <see cref="FashionGpuException"/> naming what does not fit.</summary>
    public abstract LayerShape Plan(LayerDefinition layer, TensorShape input);

    /// <summary>
    /// FLOPs of one image's backward pass given its forward's: about the forward again for most kinds; a product's
    /// weight gradient costs a forward, its input gradient (when needed) another.
    /// </summary>
    public virtual long BackwardFlops(long forward, bool inputGradient) => forward;

    /// <summary>Suffixes of the parameters that take weight decay.</summary>
    public virtual IReadOnlyList<string> DecayedParameters => [];

    /// <summary>The ONNX nodes the layer becomes in inference, each reading the previous one's output (none: the identity).</summary>
    public abstract IReadOnlyList<OnnxNode> Onnx(LayerDefinition layer, TensorShape input);

    /// <summary>The PyTorch module (torch.nn) with the same parameters and the same inference output.</summary>
    public abstract TorchModule Torch(LayerDefinition layer, TensorShape input);

    public override string ToString() => Name;

    protected static FashionGpuException NotFitting(string what) => new(what);

    /// <summary>Refuses a flat input for a kind that works on channels x height x width maps.</summary>
    protected static void NeedsImage(TensorShape input)
    {
        if (input.Flat)
            throw NotFitting($"needs a channels x height x width input, but its input {input} is flat (it comes after flatten, dense or global_avg_pool)");
    }
}

/// <summary>A parameter tensor a layer owns: suffix (weight, bias, ...), dims in PyTorch's layout, Glorot fans, start value.</summary>
public sealed record ParameterSpec(string Suffix, int[] Dims, long FanIn, long FanOut, ParameterInit Init, bool Trainable = true);

/// <summary>What a layer makes of its input: the output shape of one image, its parameters and forward FLOPs per image.</summary>
public sealed record LayerShape(TensorShape Output, IReadOnlyList<ParameterSpec> Parameters, long Flops)
{
    public static LayerShape Same(TensorShape input, long flops = 0) => new(input, [], flops);
}

/// <summary>
/// An ONNX node: the operator, the layer's parameters it reads after its data input (by suffix), its attributes. An
/// attribute left out means the operator's default.
/// </summary>
public sealed record OnnxNode(string Operator, IReadOnlyList<string> Parameters, IReadOnlyList<OnnxAttribute> Attributes)
{
    public OnnxNode(string op, params OnnxAttribute[] attributes) : this(op, [], attributes) { }
}

/// <summary>An ONNX attribute: a list of integers, one integer or one float.</summary>
public sealed record OnnxAttribute(string Name, long[]? Ints = null, long? Int = null, float? Float = null)
{
    public static OnnxAttribute Of(string name, params long[] values) => new(name, Ints: values);
    public static OnnxAttribute One(string name, long value) => new(name, Int: value);
    public static OnnxAttribute Real(string name, float value) => new(name, Float: value);
}

/// <summary>
/// A torch.nn module: its class name in torch.nn, positional and keyword arguments, or (Sequential) the modules in it.
/// Written into checkpoints so tools/pytorch_evaluate.py builds any model without knowing the kinds.
/// </summary>
public sealed record TorchModule(string Class, IReadOnlyList<object> Arguments, IReadOnlyDictionary<string, object>? Keywords = null,
    IReadOnlyList<TorchModule>? Children = null)
{
    public static TorchModule Of(string name, params object[] arguments) => new(name, arguments);

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("class", Class);
        json.WriteStartArray("args");
        foreach (var a in Arguments)
            JsonSerializer.Serialize(json, a);
        json.WriteEndArray();
        json.WriteStartObject("kwargs");
        foreach (var (key, value) in Keywords ?? new Dictionary<string, object>())
        {
            json.WritePropertyName(key);
            JsonSerializer.Serialize(json, value);
        }
        json.WriteEndObject();
        if (Children is not null)
        {
            json.WriteStartArray("children");
            foreach (var c in Children)
                c.Write(json);
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }
}

/// <summary>
/// One JSON field of a layer kind, declared once: read (with its rule in the message when the value breaks it),
/// written, and shown in summaries.
/// </summary>
public abstract class LayerField(string name, string rule, bool required)
{
    public string Name { get; } = name;

    /// <summary>What a valid value is, in words: "an integer from 1 to 4096".</summary>
    public string Rule { get; } = rule;

    public bool Required { get; } = required;

    /// <summary>The definition with this field set from <paramref name="value"/> (null: absent), or an error naming the field.</summary>
    public abstract LayerDefinition Read(LayerDefinition layer, JsonElement? value, string where);

    public abstract void Write(Utf8JsonWriter json, LayerDefinition layer);

    /// <summary>The value as a summary shows it.</summary>
    public abstract string Show(LayerDefinition layer);

    protected FashionGpuException Missing(string where) => new($"{where}: missing \"{Name}\" ({Rule})");

    protected FashionGpuException Wrong(string where, JsonElement value) => new($"{where}: \"{Name}\" is {value.GetRawText()}, it must be {Rule}");

    public static LayerField Int(string name, string rule, Func<int, bool> valid, Func<LayerDefinition, int> get,
        Func<LayerDefinition, int, LayerDefinition> set, int? fallback = null) => new IntField(name, rule, valid, get, set, fallback);

    public static LayerField Number(string name, SettingRange range, Func<LayerDefinition, float> get, Func<LayerDefinition, float, LayerDefinition> set,
        float? fallback = null) => new NumberField(name, range, get, set, fallback);

    public static LayerField Choice(string name, string[] choices, Func<LayerDefinition, string> get, Func<LayerDefinition, string, LayerDefinition> set,
        string fallback) => new ChoiceField(name, choices, get, set, fallback);

    private sealed class IntField(string name, string rule, Func<int, bool> valid, Func<LayerDefinition, int> get,
        Func<LayerDefinition, int, LayerDefinition> set, int? fallback) : LayerField(name, rule, fallback is null)
    {
        public override LayerDefinition Read(LayerDefinition layer, JsonElement? value, string where)
        {
            if (value is not { } v)
                return fallback is { } f ? set(layer, f) : throw Missing(where);
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i) || !valid(i))
                throw Wrong(where, v);
            return set(layer, i);
        }

        public override void Write(Utf8JsonWriter json, LayerDefinition layer) => json.WriteNumber(Name, get(layer));
        public override string Show(LayerDefinition layer) => get(layer).ToString(CultureInfo.InvariantCulture);
    }

    private sealed class NumberField(string name, SettingRange range, Func<LayerDefinition, float> get,
        Func<LayerDefinition, float, LayerDefinition> set, float? fallback) : LayerField(name, $"a number {range.Rule}", fallback is null)
    {
        public override LayerDefinition Read(LayerDefinition layer, JsonElement? value, string where)
        {
            if (value is not { } v)
                return fallback is { } f ? set(layer, f) : throw Missing(where);
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d))
                throw Wrong(where, v);
            if (range.Check($"\"{Name}\"", d) is { } problem)
                throw new FashionGpuException($"{where}: {problem}");
            return set(layer, (float)d);
        }

        public override void Write(Utf8JsonWriter json, LayerDefinition layer) => json.WriteNumber(Name, get(layer));
        public override string Show(LayerDefinition layer) => get(layer).ToString("0.###", CultureInfo.InvariantCulture);
    }

    private sealed class ChoiceField(string name, string[] choices, Func<LayerDefinition, string> get,
        Func<LayerDefinition, string, LayerDefinition> set, string fallback)
        : LayerField(name, string.Join(" or ", choices.Select(c => $"\"{c}\"")), required: false)
    {
        public override LayerDefinition Read(LayerDefinition layer, JsonElement? value, string where)
        {
            if (value is not { } v)
                return set(layer, fallback);
            if (v.ValueKind != JsonValueKind.String || !choices.Contains(v.GetString()))
                throw Wrong(where, v);
            return set(layer, v.GetString()!);
        }

        public override void Write(Utf8JsonWriter json, LayerDefinition layer) => json.WriteString(Name, get(layer));
        public override string Show(LayerDefinition layer) => get(layer);
    }
}
