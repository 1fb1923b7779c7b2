using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FashionGpu.Kernels;
using FashionGpu.Runtime;

namespace FashionGpu.Cli.Sweeps;

/// <summary>One planned trial: its index and every `train` setting it runs with (keys are flags with underscores).</summary>
public sealed record Trial(int Index, SortedDictionary<string, JsonNode> Settings, IReadOnlyList<string> Varied)
{
    /// <summary>The `train` flags of this trial, in key order.</summary>
    public IEnumerable<string> TrainArguments() => Settings.SelectMany(s => new[] { "--" + s.Key.Replace('_', '-'), Format(s.Value) });

    private static string Format(JsonNode value) => value.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>(),
        _ => value.ToJsonString(),
    };
}

/// <summary>
/// A sweep file: `base` settings, then either a `grid` (every combination, keys in file order) or `random` search
/// (`trials` draws from log_uniform / uniform / choice distributions, seeded by `sampler_seed`), each configuration
/// once per entry of `seeds`; `metric` (validation_accuracy or test_accuracy) and `goal` (maximize or minimize)
/// rank the trials, and `test: true` evaluates each finished trial on the test set. Planning is a pure function of
/// the file, so the same file always plans the same trials.
/// </summary>
public sealed class SweepDefinition
{
    public static readonly string[] IntegerKeys = ["epochs", "batch_size", "limit_train", "filters", "hidden", "patience"];
    public static readonly string[] NumberKeys = ["learning_rate", "validation_split", "dropout", "weight_decay", "momentum", "warmup_epochs", "label_smoothing"];
    public static readonly string[] TextKeys = ["model", "model_file", "pixels", "device", "data_dir", "optimizer", "schedule", "augment"];
    private static readonly string[] TopLevel = ["base", "grid", "random", "trials", "sampler_seed", "seeds", "metric", "goal", "test"];

    private SweepDefinition(JsonObject source) => Source = source;

    /// <summary>The file as read (normalised JSON), stored as DIR/sweep.json.</summary>
    public JsonObject Source { get; }
    public string Metric => Source["metric"]?.GetValue<string>() ?? "validation_accuracy";
    public bool Maximize => (Source["goal"]?.GetValue<string>() ?? "maximize") == "maximize";
    public bool Test => Source["test"]?.GetValue<bool>() ?? Metric == "test_accuracy";

    public static SweepDefinition Parse(string text, string origin)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FashionGpuException($"{origin} is not valid JSON ({e.Message})");
        }
        if (node is not JsonObject root)
            throw new FashionGpuException($"{origin}: a sweep is a JSON object with \"base\" and \"grid\" or \"random\"");
        foreach (var key in root.Select(p => p.Key))
            if (!TopLevel.Contains(key))
                throw new FashionGpuException($"{origin}: unknown key \"{key}\" (allowed: {string.Join(", ", TopLevel)})");
        var sweep = new SweepDefinition(root);
        sweep.Plan(origin);
        return sweep;
    }

    /// <summary>Every trial: configurations (grid order or random draws) times seeds.</summary>
    public IReadOnlyList<Trial> Plan(string origin = "sweep")
    {
        FashionGpuException Error(string what) => new($"{origin}: {what}");
        var root = Source;
        if (root["metric"] is { } metric && metric.GetValueKind() == JsonValueKind.String && metric.GetValue<string>() is not ("validation_accuracy" or "test_accuracy"))
            throw Error($"\"metric\" is \"{metric}\"; use validation_accuracy or test_accuracy");
        if (root["goal"] is { } goal && (goal.GetValueKind() != JsonValueKind.String || goal.GetValue<string>() is not ("maximize" or "minimize")))
            throw Error($"\"goal\" is {goal.ToJsonString()}; use \"maximize\" or \"minimize\"");
        var settings = root["base"] as JsonObject ?? (root["base"] is null ? new JsonObject() : throw Error("\"base\" must be an object of train settings"));
        foreach (var (key, value) in settings)
            Check($"base {key}", key, value!, origin);
        var seeds = root["seeds"] is JsonArray s ? s.Select(v => v!.GetValue<ulong>()).ToArray()
            : root["seeds"] is null ? [42UL] : throw Error("\"seeds\" must be an array of whole numbers");
        if (seeds.Length == 0)
            throw Error("\"seeds\" is empty");

        List<SortedDictionary<string, JsonNode>> configurations;
        IReadOnlyList<string> varied;
        if (root["grid"] is JsonObject grid && root["random"] is null)
        {
            varied = grid.Select(p => p.Key).ToArray();
            configurations = [new SortedDictionary<string, JsonNode>(StringComparer.Ordinal)];
            foreach (var (key, values) in grid)
            {
                if (values is not JsonArray { Count: > 0 } list)
                    throw Error($"grid {key} must be a non-empty array of values");
                foreach (var v in list)
                    Check($"grid {key}", key, v!, origin);
                configurations = configurations.SelectMany(c => list.Select(v => new SortedDictionary<string, JsonNode>(c, StringComparer.Ordinal) { [key] = v!.DeepClone() })).ToList();
            }
        }
        else if (root["random"] is JsonObject random && root["grid"] is null)
        {
            varied = random.Select(p => p.Key).ToArray();
            var trials = root["trials"]?.GetValue<int>() ?? throw Error("random search needs \"trials\" (how many configurations to draw)");
            if (trials is < 1 or > 10000)
                throw Error($"\"trials\" is {trials}; use 1 to 10000");
            var sampler = root["sampler_seed"]?.GetValue<ulong>() ?? 0;
            configurations = Enumerable.Range(0, trials).Select(_ => new SortedDictionary<string, JsonNode>(StringComparer.Ordinal)).ToList();
            var dimension = 0;
            foreach (var (key, distribution) in random)
            {
                var key64 = CounterRng.Key(sampler, CounterRng.ShuffleStream + (ulong)dimension++);
                for (var t = 0; t < trials; t++)
                {
                    var value = Draw(key, distribution, CounterRng.UniformDouble(key64, (ulong)t), Error);
                    Check($"random {key}", key, value, origin);
                    configurations[t][key] = value;
                }
            }
        }
        else
            throw Error("give exactly one of \"grid\" (values to combine) or \"random\" (distributions to draw from)");
        foreach (var key in varied)
            if (key == "seed")
                throw Error("vary seeds with \"seeds\", not in the grid or random settings");

        var result = new List<Trial>();
        foreach (var configuration in configurations)
            foreach (var seed in seeds)
            {
                var all = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
                foreach (var (key, value) in settings)
                    all[key] = value!.DeepClone();
                foreach (var (key, value) in configuration)
                    all[key] = value.DeepClone();
                all["seed"] = JsonValue.Create(seed);
                result.Add(new Trial(result.Count, all, varied));
            }
        return result;
    }

    private static JsonNode Draw(string key, JsonNode? distribution, double u, Func<string, FashionGpuException> error)
    {
        if (distribution is not JsonObject { Count: 1 } d)
            throw error($"random {key} must be one of {{\"log_uniform\": [low, high]}}, {{\"uniform\": [low, high]}} or {{\"choice\": [values]}}");
        var (kind, args) = d.Single();
        if (args is not JsonArray list || list.Count == 0)
            throw error($"random {key}: {kind} needs an array");
        switch (kind)
        {
            case "choice":
                return list[(int)Math.Min(list.Count - 1, Math.Floor(u * list.Count))]!.DeepClone();
            case "uniform" or "log_uniform" when list.Count == 2:
                var (low, high) = (list[0]!.GetValue<double>(), list[1]!.GetValue<double>());
                if (!(high > low) || (kind == "log_uniform" && !(low > 0)))
                    throw error($"random {key}: {kind} [{low}, {high}] needs low < high{(kind == "log_uniform" ? " and low > 0" : "")}");
                var value = kind == "uniform" ? low + u * (high - low) : Math.Exp(Math.Log(low) + u * (Math.Log(high) - Math.Log(low)));
                // Rounded so the planned value is the value train parses back.
                var rounded = double.Parse(value.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                return IntegerKeys.Contains(key) ? JsonValue.Create((int)Math.Round(rounded)) : JsonValue.Create(rounded);
            default:
                throw error($"random {key}: unknown distribution \"{kind}\" (log_uniform, uniform or choice)");
        }
    }

    /// <summary>A setting must be a train flag of the right type whose value `train` accepts (its own parser decides).</summary>
    private static void Check(string where, string key, JsonNode value, string origin)
    {
        var kind = value.GetValueKind();
        var ok = IntegerKeys.Contains(key) ? kind == JsonValueKind.Number && value.ToJsonString().All(c => char.IsDigit(c) || c == '-')
            : NumberKeys.Contains(key) ? kind == JsonValueKind.Number
            : TextKeys.Contains(key) ? kind == JsonValueKind.String
            : throw new FashionGpuException($"{origin}: {where}: unknown setting \"{key}\" (train flags with underscores: {string.Join(", ", IntegerKeys.Concat(NumberKeys).Concat(TextKeys))})");
        if (!ok)
            throw new FashionGpuException($"{origin}: {where}: {value.ToJsonString()} is not {(IntegerKeys.Contains(key) ? "a whole number" : NumberKeys.Contains(key) ? "a number" : "a string")}");
        var flag = "--" + key.Replace('_', '-');
        var parse = CliApplication.Build().Parse(["train", flag, kind == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString()]);
        if (parse.Errors.Count > 0)
            throw new FashionGpuException($"{origin}: {where}: {parse.Errors[0].Message}");
    }
}
