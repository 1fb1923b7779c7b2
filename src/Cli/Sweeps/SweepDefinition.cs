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
/// once per entry of `seeds`; `metric` (validation_accuracy, test_accuracy or tta_accuracy) and `goal` (maximize or
/// minimize) rank the trials, and `test: true` evaluates each finished trial on the test set (`tta`: with that
/// test-time augmentation's figure too). The whole file is checked before
/// anything is planned or run; planning is a pure function of the file (and, for relative paths, of the directory it
/// is planned from), so the same file always plans the same trials.
/// </summary>
public sealed class SweepDefinition
{
    public static readonly string[] IntegerKeys = ["epochs", "batch_size", "limit_train", "filters", "hidden", "patience"];
    public static readonly string[] NumberKeys = ["learning_rate", "validation_split", "dropout", "weight_decay", "momentum", "warmup_epochs", "label_smoothing", "ema"];
    public static readonly string[] TextKeys = ["model", "model_file", "pixels", "device", "data_dir", "optimizer", "schedule", "augment"];
    /// <summary>Settings that name files: resolved to absolute paths and checked when the sweep is planned.</summary>
    private static readonly string[] PathKeys = ["model_file", "data_dir"];
    private static readonly string[] TopLevel = ["base", "grid", "random", "trials", "sampler_seed", "seeds", "metric", "goal", "test", "tta"];
    public static readonly string[] Metrics = ["validation_accuracy", "test_accuracy", "tta_accuracy"];

    /// <summary>The most trials one plan may hold (configurations times seeds).</summary>
    public const int MaxTrials = 10_000;

    private readonly string _origin;

    private SweepDefinition(JsonObject source, string origin) => (Source, _origin) = (source, origin);

    /// <summary>The file as read (normalised JSON), stored as DIR/sweep.json.</summary>
    public JsonObject Source { get; }
    public string Metric => Source["metric"]?.GetValue<string>() ?? "validation_accuracy";
    public bool Maximize => (Source["goal"]?.GetValue<string>() ?? "maximize") == "maximize";
    public bool Test => Source["test"]?.GetValue<bool>() ?? Metric is "test_accuracy" or "tta_accuracy";

    /// <summary>The test-time augmentation each trial's test evaluation also reports (`tta`, default none).</summary>
    public string Tta => Source["tta"]?.GetValue<string>() ?? "none";

    /// <summary>Whether the trials are also evaluated with a test-time augmentation (a TTA column and metric).</summary>
    public bool HasTta => Tta != "none";

    /// <summary>Reads a sweep file and checks its shape (the keys and their types); <see cref="Plan"/> checks every value and path.</summary>
    public static SweepDefinition Read(string text, string origin)
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
        FashionGpuException Error(string what) => new($"{origin}: {what}");
        if (node is not JsonObject root)
            throw Error("a sweep is a JSON object with \"base\" and \"grid\" or \"random\"");
        foreach (var key in root.Select(p => p.Key))
            if (!TopLevel.Contains(key))
                throw Error($"unknown key \"{key}\" (allowed: {string.Join(", ", TopLevel)})");
        if (root.ContainsKey("metric") && !(root["metric"] is { } metric && metric.GetValueKind() == JsonValueKind.String && Metrics.Contains(metric.GetValue<string>())))
            throw Error($"\"metric\" is {Show(root["metric"])}; use \"validation_accuracy\", \"test_accuracy\" or \"tta_accuracy\"");
        if (root.ContainsKey("tta") && !(root["tta"] is { } tta && tta.GetValueKind() == JsonValueKind.String
                && Runtime.Evaluation.TestTimeAugmentation.TryParse(tta.GetValue<string>(), out _)))
            throw Error($"\"tta\" is {Show(root["tta"])}; use \"{string.Join("\", \"", Runtime.Evaluation.TestTimeAugmentation.Choices)}\"");
        if (root["metric"]?.GetValue<string>() == "tta_accuracy" && (root["tta"]?.GetValue<string>() ?? "none") == "none")
            throw Error("\"metric\" is \"tta_accuracy\" but no \"tta\" is given; add \"tta\": \"flip,shift\" (or flip, shift)");
        if (root.ContainsKey("goal") && !(root["goal"] is { } goal && goal.GetValueKind() == JsonValueKind.String && goal.GetValue<string>() is "maximize" or "minimize"))
            throw Error($"\"goal\" is {Show(root["goal"])}; use \"maximize\" or \"minimize\"");
        if (root.ContainsKey("test") && root["test"]?.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            throw Error($"\"test\" is {Show(root["test"])}; use true or false");
        if (root.ContainsKey("base") && root["base"] is not JsonObject)
            throw Error($"\"base\" is {Show(root["base"])}; it must be an object of train settings");
        if (root.ContainsKey("seeds") && root["seeds"] is not JsonArray)
            throw Error($"\"seeds\" is {Show(root["seeds"])}; it must be an array of whole numbers from 0 to {ulong.MaxValue}");
        var (hasGrid, hasRandom) = (root.ContainsKey("grid"), root.ContainsKey("random"));
        if (hasGrid == hasRandom)
            throw Error("give exactly one of \"grid\" (values to combine) or \"random\" (distributions to draw from)");
        if (hasGrid && root["grid"] is not JsonObject)
            throw Error($"\"grid\" is {Show(root["grid"])}; it must be an object of settings, each with an array of values");
        if (hasRandom && root["random"] is not JsonObject)
            throw Error($"\"random\" is {Show(root["random"])}; it must be an object of settings, each with a distribution");
        if (hasGrid && (root.ContainsKey("trials") || root.ContainsKey("sampler_seed")))
            throw Error("\"trials\" and \"sampler_seed\" belong to random search; a grid plans every combination");
        return new SweepDefinition(root, origin);
    }

    private static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>] from JSON, or the error that says what it must be.</summary>
    private static ulong WholeNumber(JsonNode? value, ulong min, ulong max, Func<string, FashionGpuException> error, string what)
    {
        if (value?.GetValueKind() == JsonValueKind.Number && ulong.TryParse(value.ToJsonString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= min && n <= max)
            return n;
        throw error($"{what} is {Show(value)}; it must be a whole number from {min} to {max}");
    }

    /// <summary>Every trial: configurations (grid order or random draws) times seeds. Checks every value it plans.</summary>
    public IReadOnlyList<Trial> Plan()
    {
        FashionGpuException Error(string what) => new($"{_origin}: {what}");
        var root = Source;
        var checker = new SettingCheck(_origin);
        var settings = root["base"] as JsonObject ?? new JsonObject();
        var resolved = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var (key, value) in settings)
            resolved[key] = checker.Check($"base {key}", key, value);
        var seeds = root["seeds"] is JsonArray s
            ? s.Select((v, i) => WholeNumber(v, 0, ulong.MaxValue, Error, $"seeds[{i}]")).ToArray()
            : [42UL];
        if (seeds.Length == 0)
            throw Error("\"seeds\" is empty");

        List<SortedDictionary<string, JsonNode>> configurations;
        IReadOnlyList<string> varied;
        if (root["grid"] is JsonObject grid)
        {
            varied = grid.Select(p => p.Key).ToArray();
            var size = (long)seeds.Length;
            foreach (var (key, values) in grid)
            {
                if (values is not JsonArray { Count: > 0 } list)
                    throw Error($"grid {key} is {Show(values)}; it must be a non-empty array of values");
                size = Math.Min(size * list.Count, MaxTrials + 1L);
            }
            if (size > MaxTrials)
                throw Error(string.Create(CultureInfo.InvariantCulture, $"the grid times the seeds makes more than {MaxTrials:N0} trials; use fewer values, or random search with \"trials\""));
            configurations = [new SortedDictionary<string, JsonNode>(StringComparer.Ordinal)];
            foreach (var (key, values) in grid)
            {
                var list = values!.AsArray().Select(v => checker.Check($"grid {key}", key, v)).ToArray();
                configurations = configurations.SelectMany(c => list.Select(v => new SortedDictionary<string, JsonNode>(c, StringComparer.Ordinal) { [key] = v.DeepClone() })).ToList();
            }
        }
        else
        {
            var random = root["random"]!.AsObject();
            varied = random.Select(p => p.Key).ToArray();
            if (!root.ContainsKey("trials"))
                throw Error("random search needs \"trials\" (how many configurations to draw)");
            var trials = (int)WholeNumber(root["trials"], 1, MaxTrials, Error, "\"trials\"");
            if ((long)trials * seeds.Length > MaxTrials)
                throw Error(string.Create(CultureInfo.InvariantCulture, $"\"trials\" {trials} times {seeds.Length} seeds makes more than {MaxTrials:N0} trials; draw fewer"));
            var sampler = root.ContainsKey("sampler_seed") ? WholeNumber(root["sampler_seed"], 0, ulong.MaxValue, Error, "\"sampler_seed\"") : 0;
            configurations = Enumerable.Range(0, trials).Select(_ => new SortedDictionary<string, JsonNode>(StringComparer.Ordinal)).ToList();
            var dimension = 0;
            foreach (var (key, distribution) in random)
            {
                var draw = Distribution.Of(key, distribution, Error);
                var key64 = CounterRng.Key(sampler, CounterRng.ShuffleStream + (ulong)dimension++);
                for (var t = 0; t < trials; t++)
                    configurations[t][key] = checker.Check($"random {key}", key, draw(CounterRng.UniformDouble(key64, (ulong)t)));
            }
        }
        foreach (var key in varied)
            if (key == "seed")
                throw Error("vary seeds with \"seeds\", not in the grid or random settings");
        if (configurations.Any(c => (c.ContainsKey("model") || resolved.ContainsKey("model")) && (c.ContainsKey("model_file") || resolved.ContainsKey("model_file"))))
            throw Error("a trial would get both \"model\" and \"model_file\"; give one of them");

        var result = new List<Trial>();
        foreach (var configuration in configurations)
            foreach (var seed in seeds)
            {
                var all = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
                foreach (var (key, value) in resolved)
                    all[key] = value.DeepClone();
                foreach (var (key, value) in configuration)
                    all[key] = value.DeepClone();
                all["seed"] = JsonValue.Create(seed);
                result.Add(new Trial(result.Count, all, varied));
            }
        return result;
    }

    /// <summary>A random setting's distribution: a function from a uniform draw in [0, 1) to a value.</summary>
    private static class Distribution
    {
        public static Func<double, JsonNode?> Of(string key, JsonNode? distribution, Func<string, FashionGpuException> error)
        {
            const string forms = "{\"log_uniform\": [low, high]}, {\"uniform\": [low, high]} or {\"choice\": [values]}";
            if (distribution is not JsonObject { Count: 1 } d)
                throw error($"random {key} is {Show(distribution)}; it must be one of {forms}");
            var (kind, args) = d.Single();
            if (args is not JsonArray list || list.Count == 0)
                throw error($"random {key}: {kind} needs a non-empty array");
            switch (kind)
            {
                case "choice":
                    return u => list[(int)Math.Min(list.Count - 1, Math.Floor(u * list.Count))]?.DeepClone();
                case "uniform" or "log_uniform":
                    if (list.Count != 2 || list.Any(b => b?.GetValueKind() != JsonValueKind.Number))
                        throw error($"random {key}: {kind} is {list.ToJsonString()}; it needs two numbers [low, high]");
                    var (low, high) = (list[0]!.GetValue<double>(), list[1]!.GetValue<double>());
                    if (!(high > low) || (kind == "log_uniform" && !(low > 0)))
                        throw error($"random {key}: {kind} [{low}, {high}] needs low < high{(kind == "log_uniform" ? " and low > 0" : "")}");
                    return u =>
                    {
                        var value = kind == "uniform" ? low + u * (high - low) : Math.Exp(Math.Log(low) + u * (Math.Log(high) - Math.Log(low)));
                        // Rounded so the planned value is the value train parses back.
                        var rounded = double.Parse(value.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                        return IntegerKeys.Contains(key) ? JsonValue.Create((int)Math.Round(rounded)) : JsonValue.Create(rounded);
                    };
                default:
                    throw error($"random {key}: unknown distribution \"{kind}\" (log_uniform, uniform or choice)");
            }
        }
    }

    /// <summary>
    /// Checks a setting as `train` would (its own flag parser decides), once per distinct value, and resolves a path
    /// setting to an absolute path that exists, since scheduled trials run from another directory.
    /// </summary>
    private sealed class SettingCheck(string origin)
    {
        private readonly System.CommandLine.RootCommand _cli = CliApplication.Build();
        private readonly Dictionary<(string, string), JsonNode> _checked = [];

        public JsonNode Check(string where, string key, JsonNode? value)
        {
            var text = Show(value);
            if (_checked.TryGetValue((key, text), out var known))
                return known;
            var kind = value?.GetValueKind() ?? JsonValueKind.Null;
            var ok = IntegerKeys.Contains(key) ? kind == JsonValueKind.Number && text.All(c => char.IsDigit(c) || c == '-')
                : NumberKeys.Contains(key) ? kind == JsonValueKind.Number
                : TextKeys.Contains(key) ? kind == JsonValueKind.String
                : throw new FashionGpuException($"{origin}: {where}: unknown setting \"{key}\" (train flags with underscores: {string.Join(", ", IntegerKeys.Concat(NumberKeys).Concat(TextKeys))})");
            if (!ok)
                throw new FashionGpuException($"{origin}: {where}: {text} is not {(IntegerKeys.Contains(key) ? "a whole number" : NumberKeys.Contains(key) ? "a number" : "a string")}");
            var argument = kind == JsonValueKind.String ? value!.GetValue<string>() : text;
            var parse = _cli.Parse(["train", "--" + key.Replace('_', '-'), argument]);
            if (parse.Errors.Count > 0)
                throw new FashionGpuException($"{origin}: {where}: {parse.Errors[0].Message}");
            var result = PathKeys.Contains(key) ? JsonValue.Create(Resolve(where, key, argument)) : value!.DeepClone();
            _checked[(key, text)] = result;
            return result;
        }

        private string Resolve(string where, string key, string path)
        {
            var full = Path.GetFullPath(path);
            var exists = key == "data_dir" ? Directory.Exists(full) : File.Exists(full);
            if (!exists)
                throw new FashionGpuException($"{origin}: {where}: {full} does not exist{(Path.IsPathRooted(path) ? "" : $" (\"{path}\" is taken from the directory the sweep is planned in)")}; give a path to {(key == "data_dir" ? "a directory" : "a file")} that exists");
            return full;
        }
    }
}
