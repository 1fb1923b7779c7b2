using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// Glorot-uniform weights, zero biases, batchnorm weights and running variances of one: w = (2u - 1)·sqrt(6 / (fan_in
/// + fan_out)) with u = <see cref="CounterRng.UniformDouble"/>(Key(seed, InitStream + tensor index), element index),
/// rounded to float. A pure function of the seed, so tests and the PyTorch fixture script can rebuild the same weights.
/// </summary>
public static class ParameterInitializer
{
    public static float[] Initial(ModelPlan model, ulong seed)
    {
        var values = new float[model.ParameterCount];
        for (var t = 0; t < model.Parameters.Count; t++)
        {
            var tensor = model.Parameters[t];
            var target = values.AsSpan(tensor.Offset, tensor.Length);
            switch (tensor.Init)
            {
                case ParameterInit.Ones:
                    target.Fill(1f);
                    break;
                case ParameterInit.Glorot:
                    var limit = Math.Sqrt(6.0 / (tensor.FanIn + tensor.FanOut));
                    var key = CounterRng.Key(seed, CounterRng.InitStream + (ulong)t);
                    for (var i = 0; i < target.Length; i++)
                        target[i] = (float)((2 * CounterRng.UniformDouble(key, (ulong)i) - 1) * limit);
                    break;
            }
        }
        return values;
    }
}
