using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// Each dense layer of a model alone: its forward (x·Wᵀ + b, with the ReLU the engine fuses) and its backward (dW, db,
/// and dx where the layer below trains) as the SIMD engine calls them, on random data, warm and back to back. Inside
/// training steps the same calls also wait for their data to come from other caches; this is what the products cost
/// without that.
/// </summary>
public static class DenseBenchmark
{
    public static IReadOnlyList<(string Name, double Gflops)> Run(ModelPlan model, int batch, int cores, double seconds = 0.3)
    {
        var random = new Random(2);
        float[] Random(int n)
        {
            var values = new float[n];
            for (var i = 0; i < n; i++)
                values[i] = random.NextSingle() - 0.5f;
            return values;
        }

        var results = new List<(string, double)>();
        foreach (var op in new EngineProgram(model).Ops.Where(op => op.Kind == LayerKinds.Dense))
        {
            var s = op.Dense(batch);
            var threads = SimdDense.Parallelism(s, cores);
            var (x, w, bias, dy) = (Random(s.Batch * s.Inputs), Random(s.Outputs * s.Inputs), Random(s.Outputs), Random(s.Batch * s.Outputs));
            var (y, dw, db) = (new float[s.Batch * s.Outputs], new float[s.Outputs * s.Inputs], new float[s.Outputs]);
            var dx = op.NeedsInputGradient ? new float[s.Batch * s.Inputs] : null;
            var shape = $"{s.Batch}x{s.Inputs} → {s.Outputs}";
            results.Add(($"{op.Name} forward {shape}", Gflops(op.ForwardFlops * batch, () => SimdDense.Forward(x, w, 0, bias, y, s, op.Relu, threads), seconds)));
            results.Add(($"{op.Name} backward {shape} (dW, db{(dx is null ? "" : ", dx")})",
                Gflops(op.BackwardFlops * batch, () => SimdDense.Backward(dy, x, w, 0, dw, 0, db, dx, s, threads), seconds)));
        }
        return results;
    }

    private static double Gflops(long flops, Action run, double seconds)
    {
        for (var i = 0; i < 10; i++)
            run();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var calls = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            run();
            calls++;
        }
        return (double)flops * calls / clock.Elapsed.TotalSeconds / 1e9;
    }
}
