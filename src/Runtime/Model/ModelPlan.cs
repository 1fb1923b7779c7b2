using System.Globalization;
using System.Text;

namespace FashionGpu.Runtime.Model;

/// <summary>How a parameter tensor starts: Glorot-uniform weights, zeros, or ones (batchnorm's weight and running variance).</summary>
public enum ParameterInit
{
    Glorot,
    Zeros,
    Ones,
}

/// <summary>
/// One tensor inside the single parameter buffer, in PyTorch's naming and layout. Running statistics are not
/// trainable: their gradient stays zero, so Adam leaves them exactly as the batchnorm layer wrote them.
/// </summary>
public sealed record ParameterTensor(string Name, int[] Shape, int Offset, int FanIn, int FanOut, ParameterInit Init, bool Trainable = true)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>Parameters [Offset, Offset + Length) of the buffer, which take weight decay or not.</summary>
public readonly record struct ParameterRun(int Offset, int Length, bool Decays);

/// <summary>An activation of one image: C x H x W, or a flat vector of C features when <see cref="Flat"/>.</summary>
public readonly record struct TensorShape(int Channels, int Height, int Width, bool Flat)
{
    public static TensorShape Features(int count) => new(count, 1, 1, true);
    public int Size => Channels * Height * Width;
    public int Spatial => Height * Width;
    public override string ToString() => Flat ? $"({Channels})" : $"({Channels}, {Height}, {Width})";
}

/// <summary>A layer of a <see cref="ModelPlan"/>: its definition, shapes, parameters (by name) and cost.</summary>
public sealed record PlannedLayer(int Index, LayerDefinition Definition, TensorShape Input, TensorShape Output, string? Name,
    IReadOnlyList<ParameterTensor> Parameters, long ForwardFlops)
{
    public LayerKind Kind => Definition.Kind;
    /// <summary>The tensor named "{Name}.{suffix}"; the engines look theirs up in every step, so it allocates nothing.</summary>
    public ParameterTensor Parameter(string suffix)
    {
        foreach (var p in Parameters)
            if (Name is not null && p.Name.Length == Name.Length + 1 + suffix.Length && p.Name[Name.Length] == '.'
                && p.Name.StartsWith(Name, StringComparison.Ordinal) && p.Name.EndsWith(suffix, StringComparison.Ordinal))
                return p;
        throw new InvalidOperationException($"layer {Index + 1} ({Kind}) has no parameter {Name}.{suffix}");
    }
    public long ParameterCount => Parameters.Sum(p => (long)p.Length);
}

/// <summary>
/// A <see cref="ModelDefinition"/> made concrete: every layer's input and output shape inferred and checked, the
/// parameters laid out in one buffer with PyTorch's names (conv1.weight, bn1.running_mean, dense2.bias, …; each
/// layer with parameters is numbered among the layers of its kind), and the FLOPs of a forward pass.
/// </summary>
public sealed class ModelPlan
{
    private readonly Dictionary<string, ParameterTensor> _byName;

    public ModelPlan(ModelDefinition definition)
    {
        Definition = definition;
        var shape = new TensorShape(definition.Input[0], definition.Input[1], definition.Input[2], false);
        var layers = new List<PlannedLayer>();
        var parameters = new List<ParameterTensor>();
        var counts = new Dictionary<string, int>();
        var offset = 0L;
        for (var i = 0; i < definition.Layers.Count; i++)
        {
            var layer = definition.Layers[i];
            FashionGpuException Error(string what) => new($"layer {i + 1} ({layer.Type}): {what}");
            LayerShape planned;
            try
            {
                planned = layer.Kind.Plan(layer, shape);
            }
            catch (FashionGpuException e)
            {
                throw Error(e.Message);
            }
            string? name = null;
            var owned = new List<ParameterTensor>();
            if (planned.Parameters.Count > 0)
            {
                var prefix = layer.Kind.ParameterPrefix ?? layer.Type;
                name = $"{prefix}{counts[prefix] = counts.GetValueOrDefault(prefix) + 1}";
            }
            foreach (var p in planned.Parameters)
            {
                // Counted in 64 bits: a layer too large for the engines' one 32-bit-indexed buffer is refused, not wrapped.
                var length = p.Dims.Aggregate(1L, (a, b) => a * b);
                if (offset + length > MaxParameters)
                    throw Error(string.Create(CultureInfo.InvariantCulture,
                        $"its {p.Suffix} alone has {length:N0} parameters{(offset > 0 ? $" ({offset + length:N0} with the layers before it)" : "")}, and a model holds at most {MaxParameters:N0} (the engines index one parameter buffer with 32-bit integers); use fewer units or filters, or pool before it"));
                owned.Add(new ParameterTensor($"{name}.{p.Suffix}", p.Dims, (int)offset, (int)p.FanIn, (int)p.FanOut, p.Init, p.Trainable));
                offset += length;
            }
            parameters.AddRange(owned);
            layers.Add(new PlannedLayer(i, layer, shape, planned.Output, name, owned, planned.Flops));
            shape = planned.Output;
        }
        if (definition.Layers[^1] is not { Units: FashionMnistShape.Classes } last || last.Kind != LayerKinds.Dense)
            throw new FashionGpuException($"layer {definition.Layers.Count} ({definition.Layers[^1].Describe()}): the last layer must be a dense layer of {FashionMnistShape.Classes} units (the logits)");
        Layers = layers;
        Parameters = parameters;
        ParameterCount = (int)offset;
        _byName = parameters.ToDictionary(p => p.Name);
    }

    public ModelDefinition Definition { get; }
    public IReadOnlyList<PlannedLayer> Layers { get; }
    public IReadOnlyList<ParameterTensor> Parameters { get; }
    public int ParameterCount { get; }

    /// <summary>The most parameters a model may have: the engines hold them in one buffer indexed by 32-bit integers.</summary>
    public const int MaxParameters = int.MaxValue / 4;

    /// <summary>Parameters Adam trains (running statistics excluded).</summary>
    public long TrainableCount => Parameters.Where(p => p.Trainable).Sum(p => (long)p.Length);

    /// <summary>"Total params: 954 (946 trainable)", or just the total when everything trains.</summary>
    public string ParameterLine => ParameterCount == TrainableCount
        ? string.Create(CultureInfo.InvariantCulture, $"Total params: {ParameterCount:N0}")
        : string.Create(CultureInfo.InvariantCulture, $"Total params: {ParameterCount:N0} ({TrainableCount:N0} trainable)");

    public float PixelScale => Definition.Scale;
    public TensorShape Input => Layers[0].Input;

    /// <summary>
    /// Contiguous runs of the parameter buffer, covering all of it, that the optimizer updates with or without weight
    /// decay: only conv and dense weights decay, never biases, batchnorm's parameters or running statistics. Without
    /// weight decay the whole buffer is one run.
    /// </summary>
    public IReadOnlyList<ParameterRun> OptimizerRuns(bool weightDecay)
    {
        if (!weightDecay)
            return [new ParameterRun(0, ParameterCount, false)];
        var decayed = Layers.SelectMany(l => l.Kind.DecayedParameters.Select(l.Parameter)).Select(p => p.Name).ToHashSet();
        var runs = new List<ParameterRun>();
        foreach (var t in Parameters)
        {
            var decays = decayed.Contains(t.Name);
            if (runs.Count > 0 && runs[^1].Decays == decays)
                runs[^1] = runs[^1] with { Length = runs[^1].Length + t.Length };
            else
                runs.Add(new ParameterRun(t.Offset, t.Length, decays));
        }
        return runs;
    }

    public ParameterTensor this[string name] => _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"the model has no parameter {name}");
    public bool Has(string name) => _byName.ContainsKey(name);

    public long ForwardFlopsPerImage => Layers.Sum(l => l.ForwardFlops);

    /// <summary>A training step costs about three forward passes of the layers with weights (forward, input and weight gradients).</summary>
    public long TrainingFlopsPerImage => 3 * ForwardFlopsPerImage;

    /// <summary>The first layer whose backward pass is needed: nothing below a model's first parameters needs a gradient.</summary>
    public int FirstTrainedLayer => Layers.First(l => l.Parameters.Count > 0).Index;

    /// <summary>
    /// The model as torch.nn modules, in order: [{"name": "conv1", "class": "Conv2d", "args": [1, 32, 3], "kwargs":
    /// {"padding": 0}}, …]. Layers with parameters carry their parameter names' prefix, so the state dict loads by name.
    /// </summary>
    public string TorchModulesJson()
    {
        using var stream = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            foreach (var l in Layers)
            {
                json.WriteStartObject();
                json.WriteString("name", l.Name ?? $"{l.Definition.Type}{l.Index + 1}");
                json.WritePropertyName("module");
                l.Kind.Torch(l.Definition, l.Input).Write(json);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The summary table: layer, output shape, parameters, MFLOP of one image's forward pass.</summary>
    public string Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"{"#",-3}{"Layer",-26}{"Output shape",-16}{"Param #",12}{"MFLOP",9}");
        text.AppendLine(inv, $"{"",-3}{"input",-26}{Input,-16}{"",12}{"",9}");
        foreach (var l in Layers)
            text.AppendLine(inv, $"{l.Index + 1,-3}{(l.Name is null ? "" : l.Name + " ") + l.Definition.Describe(),-26}{l.Output,-16}{l.ParameterCount,12:N0}{l.ForwardFlops / 1e6,9:F3}");
        text.AppendLine(inv, $"{ParameterLine}; {ForwardFlopsPerImage / 1e6:F3} MFLOP per image forward; pixels x {PixelScale:0.#########}");
        return text.ToString();
    }
}
