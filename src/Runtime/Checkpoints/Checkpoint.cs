using System.Text.Json;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>
/// A checkpoint is NAME.safetensors (parameters under PyTorch's names, Adam's moments under optimizer.m.* and
/// optimizer.v.*, and the <see cref="CheckpointInfo"/> as JSON in the metadata) with NAME.json beside it holding the
/// same info for people and tools. Resuming reads only the safetensors file, so the two can never disagree.
/// </summary>
public static class Checkpoint
{
    private const string InfoKey = "fashiongpu";

    public static string PathOf(string runDirectory, string name) => Path.Combine(runDirectory, name + ".safetensors");

    public static void Save(string runDirectory, string name, ModelState state, CheckpointInfo info)
    {
        var model = ModelArchitecture.Reference;
        var infoJson = JsonSerializer.Serialize(info, CheckpointInfo.Json);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", [InfoKey] = infoJson };
        SafeTensors.Write(PathOf(runDirectory, name), state.Tensors(model).ToArray(), metadata);
        AtomicFile.WriteAllText(Path.Combine(runDirectory, name + ".json"), infoJson + "\n");
    }

    /// <summary>
    /// Loads parameters (required, exact names and shapes) and, when present, the optimizer moments and training info.
    /// </summary>
    public static (ModelState State, CheckpointInfo? Info) Load(string path)
    {
        var model = ModelArchitecture.Reference;
        var (tensors, metadata) = SafeTensors.Read(path);
        var byName = tensors.ToDictionary(t => t.Name);
        float[] Gather(string prefix, bool required)
        {
            var flat = new float[model.ParameterCount];
            foreach (var p in model.Parameters)
            {
                if (!byName.TryGetValue(prefix + p.Name, out var t))
                {
                    if (required)
                        throw new FashionGpuException($"checkpoint {path} has no tensor {prefix + p.Name}; it was not written for this model");
                    return new float[model.ParameterCount];
                }
                if (!t.Shape.SequenceEqual(p.Shape))
                    throw new FashionGpuException(
                        $"checkpoint {path}: {t.Name} has shape [{string.Join(",", t.Shape)}], the model needs [{string.Join(",", p.Shape)}]");
                t.Data.Span.CopyTo(flat.AsSpan(p.Offset));
            }
            return flat;
        }
        var parameters = Gather("", required: true);
        var m = Gather("optimizer.m.", required: false);
        var v = Gather("optimizer.v.", required: false);
        CheckpointInfo? info = null;
        if (metadata.TryGetValue(InfoKey, out var json))
        {
            try
            {
                info = JsonSerializer.Deserialize<CheckpointInfo>(json, CheckpointInfo.Json);
            }
            catch (JsonException e)
            {
                throw new FashionGpuException($"checkpoint {path} has unreadable training metadata ({e.Message})");
            }
        }
        return (new ModelState(parameters, m, v, info?.Step ?? 0), info);
    }
}
