using System.Runtime.Intrinsics;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The reference network on the host's cores with 256-bit vectors (`--device simd`): the same layers and the same
/// counter-based dropout, weight and shuffle streams as the ILGPU engine, so checkpoints move between them. Work is
/// split by output (images, column panels, parameter chunks), never by partial sums, so the bits do not depend on the
/// number of cores; per-image partial gradients of the conv layer are added in image order.
/// </summary>
public sealed class SimdEngine : IEngine, IEngineInspection
{
    public const int EvaluationBatch = 256;
    private const int Classes = ModelArchitecture.Classes;
    private const int Hidden = ModelArchitecture.Hidden;
    private const int Flat = ModelArchitecture.Flattened;
    private const int Pixels = ModelArchitecture.ImagePixels;
    private const int Filters = ModelArchitecture.Filters;
    private const int Taps = ModelArchitecture.KernelSize * ModelArchitecture.KernelSize;
    private const int Side = ModelArchitecture.ImageSide;
    private const int Pooled = ModelArchitecture.PoolSide;

    private readonly ModelArchitecture _model = ModelArchitecture.Reference;
    private readonly int _parallelism;
    private readonly float[] _parameters, _gradients, _m, _v;
    private readonly float[] _x, _pool, _hidden, _logits, _dLogits, _dHidden, _dPool, _convPartials;
    private readonly int[] _labels, _argmax;
    private readonly Vector256<float>[] _convWeightVectors = new Vector256<float>[Taps * Filters / 8];
    private readonly Vector256<float>[] _convBiasVectors = new Vector256<float>[Filters / 8];
    private long _step;
    private HostDataset? _epochData;
    private int[] _order = [];
    private float[] _sampleLoss = [];
    private int[] _sampleCorrect = [];

    public SimdEngine(TrainingSettings settings, int? parallelism = null)
    {
        EngineChecks.BatchSize(settings);
        Settings = settings;
        _parallelism = parallelism ?? Environment.ProcessorCount;
        var p = _model.ParameterCount;
        (_parameters, _gradients, _m, _v) = (new float[p], new float[p], new float[p], new float[p]);
        // Forward buffers serve evaluation batches too; gradients only ever hold a training batch.
        var batch = Math.Max(settings.BatchSize, EvaluationBatch);
        _x = new float[batch * Pixels];
        _labels = new int[batch];
        _pool = new float[batch * Flat];
        _argmax = new int[batch * Flat];
        _hidden = new float[batch * Hidden];
        _logits = new float[batch * Classes];
        _dLogits = new float[settings.BatchSize * Classes];
        _dHidden = new float[settings.BatchSize * Hidden];
        _dPool = new float[settings.BatchSize * Flat];
        _convPartials = new float[settings.BatchSize * Filters * (Taps + 1)];
        LoadState(ModelState.Fresh(_model, settings.Seed));
    }

    public static string VectorDescription =>
        Vector512.IsHardwareAccelerated ? "AVX-512 capable, 256-bit vectors used" : Vector256.IsHardwareAccelerated ? "256-bit vectors" : "scalar";

    public string DeviceId => "simd";
    public static string Description => $"SIMD engine: {Environment.ProcessorCount} cores, {VectorDescription}";

    public string DeviceName => Description;
    public TrainingSettings Settings { get; }
    public long Launches { get; private set; }

    /// <summary>When set, each phase of a step is timed into it (the SIMD engine has no asynchronous work to wait for).</summary>
    public Devices.KernelProfile? Profile { get; set; }

    private void Phase(string name, Action work)
    {
        Launches++;
        if (Profile is null)
        {
            work();
            return;
        }
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        work();
        Profile.Add(name, System.Diagnostics.Stopwatch.GetElapsedTime(start));
    }
    public long Synchronizations => 0;

    private sealed class HostDataset(LabeledImages data) : IEngineDataset
    {
        public LabeledImages Data => data;
        public int Count => data.Count;
        public void Dispose() { }
    }

    public IEngineDataset Upload(LabeledImages data) => new HostDataset(data);

    public void LoadState(ModelState state)
    {
        EngineChecks.State(state);
        state.Parameters.CopyTo(_parameters, 0);
        state.FirstMoment.CopyTo(_m, 0);
        state.SecondMoment.CopyTo(_v, 0);
        _step = state.Step;
    }

    public ModelState ReadState() => new((float[])_parameters.Clone(), (float[])_m.Clone(), (float[])_v.Clone(), _step);

    public void BeginEpoch(IEngineDataset data, int[] order)
    {
        var dataset = (HostDataset)data;
        EngineChecks.Order(order, dataset.Count);
        _epochData = dataset;
        _order = (int[])order.Clone();
        _sampleLoss = new float[order.Length];
        _sampleCorrect = new int[order.Length];
    }

    public void Synchronize() { }

    public void TrainStep(int start, int count)
    {
        EngineChecks.Step(_epochData is not null, start, count, Settings.BatchSize, _order.Length);
        var step = ++_step;
        var dropout = new DropoutParameters(CounterRng.Key(Settings.Seed, CounterRng.DropoutStream + (ulong)step), Settings.DropoutRate);
        Gather(_epochData!.Data, _order, start, count);
        Forward(count, dropout);
        Loss(count, start);
        Backward(count, dropout);
        Adam(AdamParameters.ForStep(Settings.LearningRate, Settings.Beta1, Settings.Beta2, Settings.Epsilon, step));
    }

    public EpochTotals ReadEpochTotals(int start, int end) => end <= start ? default
        : EpochTotals.Sum(_sampleLoss.AsSpan(start, end - start), _sampleCorrect.AsSpan(start, end - start));

    public float[] Logits(IEngineDataset data, int[] indices)
    {
        var dataset = (HostDataset)data;
        var result = new float[indices.Length * Classes];
        for (var start = 0; start < indices.Length; start += EvaluationBatch)
        {
            var count = Math.Min(EvaluationBatch, indices.Length - start);
            Gather(dataset.Data, indices, start, count);
            Forward(count, new DropoutParameters(0, 0f));
            _logits.AsSpan(0, count * Classes).CopyTo(result.AsSpan(start * Classes));
        }
        return result;
    }

    private Span<float> Parameter(string name) => _parameters.AsSpan(_model[name].Offset, _model[name].Length);
    private int Offset(string name) => _model[name].Offset;

    private void Gather(LabeledImages data, int[] order, int start, int count) => Phase("Gather", () =>
    {
        var indices = order.AsSpan(start, count);
        var scale = Settings.PixelScale;
        for (var b = 0; b < indices.Length; b++)
        {
            var source = data.Pixels.AsSpan(indices[b] * Pixels, Pixels);
            var target = _x.AsSpan(b * Pixels, Pixels);
            for (var i = 0; i < Pixels; i++)
                target[i] = source[i] * scale;
            _labels[b] = data.Labels[indices[b]];
        }
    });

    private void Forward(int batch, DropoutParameters dropout)
    {
        Phase("ConvBlock.Forward", () =>
        {
            // Weights by tap, so one tap of all 32 filters is four vectors; the bias likewise.
            var w = Parameter("conv1.weight");
            Span<float> lanes = stackalloc float[8];
            for (var t = 0; t < Taps; t++)
            {
                for (var v = 0; v < Filters / 8; v++)
                {
                    for (var l = 0; l < 8; l++)
                        lanes[l] = w[(v * 8 + l) * Taps + t];
                    _convWeightVectors[t * 4 + v] = Vector256.Create<float>(lanes);
                }
            }
            for (var v = 0; v < Filters / 8; v++)
                _convBiasVectors[v] = Vector256.Create<float>(Parameter("conv1.bias").Slice(v * 8, 8));
            Parallel.For(0, batch, Options, n => ConvBlockForward(n, dropout));
        });
        Phase("Dense1.Forward", () =>
        {
            SimdGemm.MultiplyNT(_pool, 0, _parameters, Offset("dense1.weight"), _hidden, 0, batch, Hidden, Flat, _parallelism);
            AddBias(_hidden, batch, Hidden, Offset("dense1.bias"), relu: true);
        });
        Phase("Dense2.Forward", () =>
        {
            SimdGemm.MultiplyNT(_hidden, 0, _parameters, Offset("dense2.weight"), _logits, 0, batch, Classes, Hidden, 1);
            AddBias(_logits, batch, Classes, Offset("dense2.bias"), relu: false);
        });
    }

    private ParallelOptions Options => _options ??= new ParallelOptions { MaxDegreeOfParallelism = _parallelism };
    private ParallelOptions? _options;

    private void AddBias(float[] y, int rows, int columns, int biasOffset, bool relu)
    {
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var v = y[r * columns + c] + _parameters[biasOffset + c];
                y[r * columns + c] = relu && v < 0f ? 0f : v;
            }
        }
    }

    /// <summary>
    /// One image through conv + ReLU + 2x2 max-pool + dropout. For each pooled position the conv outputs of its four
    /// window cells are computed for all 32 filters at once (filters across the lanes of four vectors, bias + taps in
    /// order); ReLU, the maximum and its first argmax are taken across lanes with compares and selects.
    /// </summary>
    private void ConvBlockForward(int n, DropoutParameters dropout)
    {
        var x = _x.AsSpan(n * Pixels, Pixels);
        var w = _convWeightVectors;
        var b0 = _convBiasVectors[0];
        var b1 = _convBiasVectors[1];
        var b2 = _convBiasVectors[2];
        var b3 = _convBiasVectors[3];
        Span<float> best = stackalloc float[Filters];
        Span<int> which = stackalloc int[Filters];
        for (var py = 0; py < Pooled; py++)
        {
            for (var px = 0; px < Pooled; px++)
            {
                Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
                Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var d = 0; d < 4; d++)
                {
                    var (v0, v1, v2, v3) = (b0, b1, b2, b3);
                    var top = (2 * py + d / 2) * Side + 2 * px + d % 2;
                    for (var t = 0; t < Taps; t++)
                    {
                        var xv = Vector256.Create(x[top + t / 3 * Side + t % 3]);
                        v0 = Vector256.FusedMultiplyAdd(xv, w[4 * t], v0);
                        v1 = Vector256.FusedMultiplyAdd(xv, w[4 * t + 1], v1);
                        v2 = Vector256.FusedMultiplyAdd(xv, w[4 * t + 2], v2);
                        v3 = Vector256.FusedMultiplyAdd(xv, w[4 * t + 3], v3);
                    }
                    (v0, v1, v2, v3) = (Vector256.Max(v0, Vector256<float>.Zero), Vector256.Max(v1, Vector256<float>.Zero),
                        Vector256.Max(v2, Vector256<float>.Zero), Vector256.Max(v3, Vector256<float>.Zero));
                    if (d == 0)
                    {
                        (m0, m1, m2, m3) = (v0, v1, v2, v3);
                        continue;
                    }
                    var cell = Vector256.Create(d);
                    Take(ref m0, ref a0, v0, cell);
                    Take(ref m1, ref a1, v1, cell);
                    Take(ref m2, ref a2, v2, cell);
                    Take(ref m3, ref a3, v3, cell);
                }
                m0.CopyTo(best); m1.CopyTo(best[8..]); m2.CopyTo(best[16..]); m3.CopyTo(best[24..]);
                a0.CopyTo(which); a1.CopyTo(which[8..]); a2.CopyTo(which[16..]); a3.CopyTo(which[24..]);
                for (var co = 0; co < Filters; co++)
                {
                    var i = n * Flat + (co * Pooled + py) * Pooled + px;
                    _pool[i] = dropout.Keeps(i) ? best[co] * dropout.Scale : 0f;
                    _argmax[i] = which[co];
                }
            }
        }
    }

    /// <summary>Where v is strictly greater (a later cell never wins a tie), it becomes the maximum and cell the argmax.</summary>
    private static void Take(ref Vector256<float> max, ref Vector256<int> argmax, Vector256<float> v, Vector256<int> cell)
    {
        var greater = Vector256.GreaterThan(v, max);
        max = Vector256.ConditionalSelect(greater, v, max);
        argmax = Vector256.ConditionalSelect(greater.AsInt32(), cell, argmax);
    }

    private void Loss(int batch, int start) => Phase("SoftmaxCrossEntropy", () =>
    {
        var scale = 1f / batch;
        for (var n = 0; n < batch; n++)
        {
            var z = _logits.AsSpan(n * Classes, Classes);
            var label = _labels[n];
            var max = z[0];
            var best = 0;
            for (var c = 1; c < Classes; c++)
                if (z[c] > max) { max = z[c]; best = c; }
            var sum = 0f;
            for (var c = 0; c < Classes; c++)
                sum += MathF.Exp(z[c] - max);
            var logSum = MathF.Log(sum);
            for (var c = 0; c < Classes; c++)
            {
                var p = MathF.Exp(z[c] - max - logSum);
                _dLogits[n * Classes + c] = (c == label ? p - 1f : p) * scale;
            }
            _sampleLoss[start + n] = logSum - (z[label] - max);
            _sampleCorrect[start + n] = best == label ? 1 : 0;
        }
    });

    private void Backward(int batch, DropoutParameters dropout)
    {
        Phase("Dense2.Backward", () =>
        {
            // dW2 = dLogitsᵀ·hidden, db2 = Σ dLogits, dHidden = dLogits·W2 masked by dense1's ReLU.
            SimdGemm.MultiplyNN(Matrix.Transposed(_dLogits, Classes), Matrix.RowMajor(_hidden, Hidden), _gradients, Offset("dense2.weight"), Classes, Hidden, batch, 1);
            ColumnSums(_dLogits, batch, Classes, Offset("dense2.bias"));
            SimdGemm.MultiplyNN(Matrix.RowMajor(_dLogits, Classes), Matrix.RowMajor(_parameters, Hidden, Offset("dense2.weight")), _dHidden, 0, batch, Hidden, Classes, 1);
            for (var i = 0; i < batch * Hidden; i++)
                if (!(_hidden[i] > 0f))
                    _dHidden[i] = 0f;
        });
        Phase("Dense1.BackwardParameters", () =>
        {
            SimdGemm.MultiplyNN(Matrix.Transposed(_dHidden, Hidden), Matrix.RowMajor(_pool, Flat), _gradients, Offset("dense1.weight"), Hidden, Flat, batch, _parallelism);
            ColumnSums(_dHidden, batch, Hidden, Offset("dense1.bias"));
        });
        Phase("Dense1.BackwardInput", () =>
            SimdGemm.MultiplyNN(Matrix.RowMajor(_dHidden, Hidden), Matrix.RowMajor(_parameters, Flat, Offset("dense1.weight")), _dPool, 0, batch, Flat, Hidden, _parallelism));
        Phase("ConvBlock.BackwardParameters", () =>
        {
            // Per-image partial gradients in parallel, added in image order.
            Parallel.For(0, batch, Options, n => ConvBlockBackward(n, dropout));
            var dw = _gradients.AsSpan(Offset("conv1.weight"), Filters * Taps);
            var db = _gradients.AsSpan(Offset("conv1.bias"), Filters);
            dw.Clear();
            db.Clear();
            for (var n = 0; n < batch; n++)
            {
                var partial = _convPartials.AsSpan(n * Filters * (Taps + 1), Filters * (Taps + 1));
                for (var co = 0; co < Filters; co++)
                {
                    for (var t = 0; t < Taps; t++)
                        dw[co * Taps + t] += partial[co * (Taps + 1) + t];
                    db[co] += partial[co * (Taps + 1) + Taps];
                }
            }
        });
    }

    private void ColumnSums(float[] dy, int rows, int columns, int target)
    {
        for (var c = 0; c < columns; c++)
        {
            var sum = 0f;
            for (var r = 0; r < rows; r++)
                sum += dy[r * columns + c];
            _gradients[target + c] = sum;
        }
    }

    /// <summary>Input offsets of the 3x3 taps from a window's top-left pixel.</summary>
    private static readonly int[] TapOffsets = Enumerable.Range(0, Taps).Select(t => t / 3 * Side + t % 3).ToArray();

    /// <summary>One image's conv gradients: each kept, positive pooled output sends dy·scale to its argmax position.</summary>
    private void ConvBlockBackward(int n, DropoutParameters dropout)
    {
        var partial = _convPartials.AsSpan(n * Filters * (Taps + 1), Filters * (Taps + 1));
        var x = _x.AsSpan(n * Pixels, Pixels);
        var offsets = TapOffsets.AsSpan();
        Span<float> sums = stackalloc float[Taps + 1];
        for (var co = 0; co < Filters; co++)
        {
            sums.Clear();
            var plane = n * Flat + co * Pooled * Pooled;
            for (var py = 0; py < Pooled; py++)
            {
                for (var px = 0; px < Pooled; px++)
                {
                    var i = plane + py * Pooled + px;
                    if (!(_pool[i] > 0f))
                        continue;
                    var g = _dPool[i] * dropout.Scale;
                    var a = _argmax[i];
                    var window = x.Slice((2 * py + (a >> 1)) * Side + 2 * px + (a & 1));
                    for (var t = 0; t < Taps; t++)
                        sums[t] += g * window[offsets[t]];
                    sums[Taps] += g;
                }
            }
            sums.CopyTo(partial.Slice(co * (Taps + 1)));
        }
    }

    /// <summary>The Keras-form Adam step as AdamKernels.Update, vectorised, over parameter chunks in parallel.</summary>
    private void Adam(AdamParameters a) => Phase("Adam", () =>
    {
        const int chunk = 1 << 14;
        var total = _parameters.Length;
        Parallel.For(0, (total + chunk - 1) / chunk, Options, c =>
        {
            var begin = c * chunk;
            var end = Math.Min(total, begin + chunk);
            var (b1, b2, ob1, ob2) = (Vector256.Create(a.Beta1), Vector256.Create(a.Beta2), Vector256.Create(1f - a.Beta1), Vector256.Create(1f - a.Beta2));
            var (lr, eps) = (Vector256.Create(a.StepSize), Vector256.Create(a.Epsilon));
            var i = begin;
            for (; i + 8 <= end; i += 8)
            {
                var g = Vector256.Create<float>(_gradients.AsSpan(i));
                var m = b1 * Vector256.Create<float>(_m.AsSpan(i)) + ob1 * g;
                var v = b2 * Vector256.Create<float>(_v.AsSpan(i)) + ob2 * g * g;
                m.CopyTo(_m.AsSpan(i));
                v.CopyTo(_v.AsSpan(i));
                (Vector256.Create<float>(_parameters.AsSpan(i)) - lr * m / (Vector256.Sqrt(v) + eps)).CopyTo(_parameters.AsSpan(i));
            }
            for (; i < end; i++)
                a.Apply(_gradients[i], ref _m[i], ref _v[i], ref _parameters[i]);
        });
    });

    float[] IEngineInspection.Inspect(string name, int length)
    {
        var source = name switch
        {
            "pool" => _pool,
            "hidden" => _hidden,
            "logits" => _logits,
            "d_logits" => _dLogits,
            "d_hidden" => _dHidden,
            "d_dropout" => _dPool,
            _ when name.StartsWith("grad.", StringComparison.Ordinal) => _gradients.AsSpan(Offset(name[5..])).ToArray(),
            _ => throw new ArgumentException($"no tensor {name}"),
        };
        return source.AsSpan(0, length).ToArray();
    }

    public void Dispose() { }
}
