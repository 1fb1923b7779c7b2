namespace FashionGpu.Runtime.Model;

/// <summary>A named tensor; its data may be a view into a larger buffer (a checkpoint is written without copies).</summary>
public sealed record NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);

/// <summary>
/// Everything needed to continue training bit-exactly: parameters (running statistics included), Adam's first and
/// second moments (all laid out as <see cref="ModelPlan.Parameters"/> in one flat array each), the number of
/// optimizer steps taken and, under --ema, the moving average of the parameters.
/// </summary>
public sealed record ModelState(float[] Parameters, float[] FirstMoment, float[] SecondMoment, long Step)
{
    /// <summary>
    /// The exponential moving average of <see cref="Parameters"/> (--ema), laid out the same way; null without one. It
    /// is the model that is evaluated, exported and saved under the parameters' names; the raw weights the optimizer
    /// moves are training state.
    /// </summary>
    public float[]? Average { get; init; }

    /// <summary>The weights the model answers with: the average when there is one.</summary>
    public float[] Weights => Average ?? Parameters;

    /// <summary>The state as a model to run (no average to keep apart): for evaluation, prediction and export.</summary>
    public ModelState ForInference() => Average is null ? this : new ModelState(Average, FirstMoment, SecondMoment, Step);

    /// <summary>The prefix of the raw parameters in a checkpoint of a run with an average (its plain names hold the average).</summary>
    public const string RawPrefix = "optimizer.w.";

    public static ModelState Fresh(ModelPlan model, ulong seed) =>
        new(ParameterInitializer.Initial(model, seed), new float[model.ParameterCount], new float[model.ParameterCount], 0);

    /// <summary>
    /// The weights under their names (<see cref="Weights"/>), the raw parameters as optimizer.w.* when they differ, then
    /// the moments of the trainable ones as optimizer.m.* and optimizer.v.*.
    /// </summary>
    public IEnumerable<NamedTensor> Tensors(ModelPlan model)
    {
        foreach (var p in model.Parameters)
            yield return new NamedTensor(p.Name, p.Shape, Weights.AsMemory(p.Offset, p.Length));
        if (Average is not null)
            foreach (var p in model.Parameters)
                yield return new NamedTensor(RawPrefix + p.Name, p.Shape, Parameters.AsMemory(p.Offset, p.Length));
        foreach (var (prefix, data) in new[] { ("optimizer.m.", FirstMoment), ("optimizer.v.", SecondMoment) })
            foreach (var p in model.Parameters.Where(p => p.Trainable))
                yield return new NamedTensor(prefix + p.Name, p.Shape, data.AsMemory(p.Offset, p.Length));
    }
}
