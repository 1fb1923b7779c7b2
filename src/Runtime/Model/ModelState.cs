namespace FashionGpu.Runtime.Model;

/// <summary>A named tensor; its data may be a view into a larger buffer (a checkpoint is written without copies).</summary>
public sealed record NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);

/// <summary>
/// Everything needed to continue training bit-exactly: parameters (running statistics included), Adam's first and
/// second moments (all laid out as <see cref="ModelPlan.Parameters"/> in one flat array each) and the number of
/// optimizer steps taken.
/// </summary>
public sealed record ModelState(float[] Parameters, float[] FirstMoment, float[] SecondMoment, long Step)
{
    public static ModelState Fresh(ModelPlan model, ulong seed) =>
        new(ParameterInitializer.Initial(model, seed), new float[model.ParameterCount], new float[model.ParameterCount], 0);

    /// <summary>Parameters under their names, then the moments of the trainable ones as optimizer.m.* and optimizer.v.*.</summary>
    public IEnumerable<NamedTensor> Tensors(ModelPlan model)
    {
        foreach (var p in model.Parameters)
            yield return new NamedTensor(p.Name, p.Shape, Parameters.AsMemory(p.Offset, p.Length));
        foreach (var (prefix, data) in new[] { ("optimizer.m.", FirstMoment), ("optimizer.v.", SecondMoment) })
            foreach (var p in model.Parameters.Where(p => p.Trainable))
                yield return new NamedTensor(prefix + p.Name, p.Shape, data.AsMemory(p.Offset, p.Length));
    }
}
