namespace FashionGpu.Runtime.Model;

/// <summary>A named tensor on the host (row-major, PyTorch's layout).</summary>
/// <summary>A named tensor; its data may be a view into a larger buffer (a checkpoint is written without copies).</summary>
public sealed record NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);

/// <summary>
/// Everything needed to continue training bit-exactly: parameters, Adam's first and second moments (all laid out as
/// <see cref="ModelArchitecture.Parameters"/> in one flat array each) and the number of optimizer steps taken.
/// </summary>
public sealed record ModelState(float[] Parameters, float[] FirstMoment, float[] SecondMoment, long Step)
{
    public static ModelState Fresh(ModelArchitecture model, ulong seed) =>
        new(ParameterInitializer.GlorotUniform(model, seed), new float[model.ParameterCount], new float[model.ParameterCount], 0);

    public IEnumerable<NamedTensor> Tensors(ModelArchitecture model)
    {
        foreach (var (prefix, data) in new[] { ("", Parameters), ("optimizer.m.", FirstMoment), ("optimizer.v.", SecondMoment) })
            foreach (var p in model.Parameters)
                yield return new NamedTensor(prefix + p.Name, p.Shape, data.AsMemory(p.Offset, p.Length));
    }
}
