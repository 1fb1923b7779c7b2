using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>
/// The divergence guard's second input on every engine: the Adam step flags a parameter that became NaN or infinite,
/// read with the epoch totals (no extra synchronisation), and loading a state clears it.
/// </summary>
public abstract class DivergenceTests
{
    protected abstract IEngine Open(ModelPlan model, TrainingSettings settings);

    [Fact]
    public void The_Adam_step_flags_a_weight_that_is_no_longer_finite()
    {
        var model = Models.Seed;
        using var engine = Open(model, new TrainingSettings { BatchSize = 8, Seed = 3 });
        using var data = engine.Upload(SampleData.Train.Take(16));
        var order = Enumerable.Range(0, 16).ToArray();

        engine.BeginEpoch(data, order, 0);
        engine.TrainStep(0, 8, engine.Settings.LearningRate);
        engine.ReadEpochTotals(0, 8);
        Assert.False(engine.ParametersDiverged);

        var state = ModelState.Fresh(model, 3);
        state.Parameters[model["conv1.weight"].Offset + 4] = float.PositiveInfinity;
        engine.LoadState(state);
        engine.BeginEpoch(data, order, 0);
        engine.TrainStep(0, 8, engine.Settings.LearningRate);
        Assert.False(engine.ParametersDiverged); // not read yet
        engine.ReadEpochTotals(0, 8);
        Assert.True(engine.ParametersDiverged);

        engine.LoadState(ModelState.Fresh(model, 3));
        Assert.False(engine.ParametersDiverged);
    }
}

public sealed class SimdDivergenceTests : DivergenceTests
{
    protected override IEngine Open(ModelPlan model, TrainingSettings settings) => new SimdEngine(model, settings);
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuDivergenceTests(CpuDeviceFixture gpu) : DivergenceTests
{
    protected override IEngine Open(ModelPlan model, TrainingSettings settings) => new IlgpuEngine(gpu.Device, model, settings);
}
