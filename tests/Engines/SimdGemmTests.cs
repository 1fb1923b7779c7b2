using System.Runtime.Intrinsics;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Engines;

/// <summary>The SIMD engine's products against <see cref="Reference.MatMul"/>: 1e-6 + 1e-5·Σ|terms| per element.</summary>
public sealed class SimdGemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 7, 5 }, { 4, 16, 9 }, { 5, 17, 33 }, { 9, 300, 70 }, { 32, 128, 5408 }, { 32, 5408, 128 }, { 128, 5408, 32 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NN_matches_reference_with_plain_and_transposed_A(int m, int n, int k)
    {
        var random = new Random(m * 31 + n + k);
        var a = TestData.Uniform(random, m * k);
        var aT = TestData.Uniform(random, m * k);
        var b = TestData.Uniform(random, k * n);
        var c = new float[m * n + 3];
        var want = Reference.MatMul(TestData.ToDouble(a), TestData.ToDouble(b), m, n, k);

        SimdGemm.MultiplyNN(Matrix.RowMajor(a, k), Matrix.RowMajor(b, n), c, 3, m, n, k, parallelism: 2);
        Close.All("NN", want.C, c[3..], want.Scale, 1e-5);

        // A stored transposed ([K, M]) and read through its strides.
        var wantT = Reference.MatMul(Reference.Transpose(TestData.ToDouble(aT), k, m), TestData.ToDouble(b), m, n, k);
        SimdGemm.MultiplyNN(Matrix.Transposed(aT, m), Matrix.RowMajor(b, n), c, 0, m, n, k, parallelism: 2);
        Close.All("NN with Aᵀ", wantT.C, c[..(m * n)], wantT.Scale, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NT_matches_reference(int m, int n, int k)
    {
        var random = new Random(m + n * 7 + k);
        var a = TestData.Uniform(random, m * k);
        var b = TestData.Uniform(random, n * k);
        var c = new float[m * n];
        SimdGemm.MultiplyNT(a, 0, b, 0, c, 0, m, n, k, parallelism: 2);
        var want = Reference.MatMul(TestData.ToDouble(a), Reference.Transpose(TestData.ToDouble(b), n, k), m, n, k);
        Close.All("NT", want.C, c, want.Scale, 1e-5);
    }

    /// <summary>
    /// Every NT output, whichever tile computes it, is eight FMA chains over k = lane, lane + 8, ... (whole 8s of K),
    /// added ((0+1)+(2+3))+((4+5)+(6+7)), then the rest of K by FMAs in k order, then the bias, then ReLU: the order is
    /// part of the engine's bits, whatever instructions form the sums and wherever the bias is added.
    /// </summary>
    [SkippableTheory]
    [InlineData(6, 7, 45, 1, false, false)]
    [InlineData(6, 10, 45, 1, false, false)]
    [InlineData(6, 10, 45, 1, true, true)]
    [InlineData(130, 10, 128, 2, false, false)]
    [InlineData(130, 10, 128, 2, true, false)]
    [InlineData(130, 10, 128, 1, true, true)]
    [InlineData(9, 3, 16, 2, true, true)]
    [InlineData(6, 13, 45, 1, false, false)]
    [InlineData(7, 16, 40, 2, true, true)]
    [InlineData(5, 22, 33, 2, true, false)]
    public void NT_adds_in_its_documented_order(int m, int n, int k, int parallelism, bool withBias, bool relu)
    {
        Skip.IfNot(Vector256.IsHardwareAccelerated, "no 256-bit vectors on this processor: NT runs its scalar dot products");
        var random = new Random(9 + m + n + k);
        // Magnitudes over 2^±12, so that another order of the same additions almost surely rounds differently.
        float Value() => (random.NextSingle() - 0.5f) * MathF.Pow(2, random.Next(-12, 12));
        var (a, b) = (Enumerable.Range(0, m * k).Select(_ => Value()).ToArray(), Enumerable.Range(0, n * k).Select(_ => Value()).ToArray());
        var bias = withBias ? Enumerable.Range(0, n).Select(_ => Value()).ToArray() : null;
        var c = new float[m * n];
        SimdGemm.MultiplyNT(a, 0, b, 0, c, 0, m, n, k, parallelism, bias, relu);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var lanes = new float[8];
                var whole = k / 8 * 8;
                for (var kk = 0; kk < whole; kk++)
                    lanes[kk % 8] = MathF.FusedMultiplyAdd(a[i * k + kk], b[j * k + kk], lanes[kk % 8]);
                var sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
                for (var kk = whole; kk < k; kk++)
                    sum = MathF.FusedMultiplyAdd(a[i * k + kk], b[j * k + kk], sum);
                if (bias is not null)
                    sum += bias[j];
                if (relu && sum < 0f)
                    sum = 0f;
                Assert.True(BitConverter.SingleToInt32Bits(sum) == BitConverter.SingleToInt32Bits(c[i * n + j]),
                    $"C[{i},{j}] = {c[i * n + j]:R}, the documented order gives {sum:R}");
            }
    }

    /// <summary>
    /// Every NN output, whichever tile or panel computes it, is one FMA chain over k in order from zero: the tiles'
    /// widths, the rows past A's blocks of eight and the panels' split never change a bit.
    /// </summary>
    [Theory]
    [InlineData(10, 128, 128, 2)]
    [InlineData(13, 70, 9, 1)]
    [InlineData(3, 40, 5, 2)]
    [InlineData(1, 33, 7, 1)]
    [InlineData(128, 128, 10, 2)]
    public void NN_adds_in_k_order(int m, int n, int k, int parallelism)
    {
        var random = new Random(m + 3 * n + 7 * k);
        float Value() => (random.NextSingle() - 0.5f) * MathF.Pow(2, random.Next(-12, 12));
        var (a, b) = (Enumerable.Range(0, m * k).Select(_ => Value()).ToArray(), Enumerable.Range(0, k * n).Select(_ => Value()).ToArray());
        var (c, cT) = (new float[m * n], new float[m * n]);
        SimdGemm.MultiplyNN(Matrix.RowMajor(a, k), Matrix.RowMajor(b, n), c, 0, m, n, k, parallelism);
        var aT = Enumerable.Range(0, k * m).Select(i => a[i % m * k + i / m]).ToArray();
        SimdGemm.MultiplyNN(Matrix.Transposed(aT, m), Matrix.RowMajor(b, n), cT, 0, m, n, k, parallelism);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var sum = 0f;
                for (var kk = 0; kk < k; kk++)
                    sum = MathF.FusedMultiplyAdd(a[i * k + kk], b[kk * n + j], sum);
                Assert.True(BitConverter.SingleToInt32Bits(sum) == BitConverter.SingleToInt32Bits(c[i * n + j]),
                    $"C[{i},{j}] = {c[i * n + j]:R}, FMAs in k order give {sum:R}");
                Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(cT[i * n + j]));
            }
    }

    /// <summary>The SIMD engine's dense backward: dW, db and dx in one parallel loop, the bits of each product alone.</summary>
    [Theory]
    [InlineData(128, 128, 10)]
    [InlineData(32, 5408, 128)]
    [InlineData(7, 33, 5)]
    public void Dense_backward_in_one_loop_gives_each_products_bits(int batch, int inputs, int outputs)
    {
        var s = new FashionGpu.Kernels.DenseShape(batch, inputs, outputs);
        var random = new Random(batch + inputs + outputs);
        var (x, w, dy) = (TestData.Uniform(random, batch * inputs), TestData.Uniform(random, outputs * inputs), TestData.Uniform(random, batch * outputs));
        var (dw, db, dx) = (new float[outputs * inputs + 2], new float[outputs], new float[batch * inputs]);
        SimdDense.Backward(dy, x, w, 0, dw, 2, db, dx, s, parallelism: 2);

        var (wantDw, wantDb, wantDx) = (new float[outputs * inputs], new float[outputs], new float[batch * inputs]);
        SimdDense.BackwardParameters(dy, x, wantDw, 0, wantDb, s, parallelism: 1);
        SimdDense.BackwardInput(dy, w, 0, wantDx, [], s, parallelism: 1);
        Assert.Equal(wantDw, dw[2..]);
        Assert.Equal(wantDb, db);
        Assert.Equal(wantDx, dx);
    }

    /// <summary>B's rows read through a table of starts (how the convolutions read their unrolled input in place).</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void NN_and_NT_read_rows_anywhere_through_a_row_table(int m, int n, int k)
    {
        var random = new Random(m * 5 + n * 3 + k);
        var a = TestData.Uniform(random, m * k);
        var (nnRows, ntRows) = (Scattered(random, k, n), Scattered(random, n, k));
        var (nnB, ntB) = (Gathered(nnRows, k, n), Gathered(ntRows, n, k));

        var c = new float[m * n];
        SimdGemm.MultiplyNN(Matrix.RowMajor(a, k), Matrix.Rows(nnRows.Data, nnRows.Starts, offset: 2), c, 0, m, n, k, parallelism: 2);
        var want = Reference.MatMul(TestData.ToDouble(a), TestData.ToDouble(nnB), m, n, k);
        Close.All("NN with B's rows from a table", want.C, c, want.Scale, 1e-5);

        // NT's A with its rows 3 floats further apart than K, 1 float in.
        var aStrided = new float[1 + m * (k + 3)];
        for (var r = 0; r < m; r++)
            a.AsSpan(r * k, k).CopyTo(aStrided.AsSpan(1 + r * (k + 3)));
        var cT = new float[m * n];
        SimdGemm.MultiplyNT(new Matrix(aStrided, 1, k + 3), Matrix.Rows(ntRows.Data, ntRows.Starts, offset: 2), cT, 0, m, n, k, parallelism: 2);
        var wantT = Reference.MatMul(TestData.ToDouble(a), Reference.Transpose(TestData.ToDouble(ntB), n, k), m, n, k);
        Close.All("NT with A's rows strided and B's rows from a table", wantT.C, cT, wantT.Scale, 1e-5);
    }

    /// <summary>rows rows of cols floats at shuffled, non-overlapping starts in a larger array, 2 floats in.</summary>
    private static (float[] Data, int[] Starts) Scattered(Random random, int rows, int cols)
    {
        var slots = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).ToArray();
        var data = TestData.Uniform(random, 2 + rows * (cols + 3));
        return (data, slots.Select(slot => slot * (cols + 3) + 1).ToArray());
    }

    private static float[] Gathered((float[] Data, int[] Starts) rows, int count, int cols) =>
        Enumerable.Range(0, count).SelectMany(r => rows.Data.AsSpan(2 + rows.Starts[r], cols).ToArray()).ToArray();

    [Fact]
    public void Results_do_not_depend_on_the_number_of_threads()
    {
        var random = new Random(1);
        var (a, b) = (TestData.Uniform(random, 32 * 5408), TestData.Uniform(random, 128 * 5408));
        var (one, two) = (new float[32 * 128], new float[32 * 128]);
        SimdGemm.MultiplyNT(a, 0, b, 0, one, 0, 32, 128, 5408, parallelism: 1);
        SimdGemm.MultiplyNT(a, 0, b, 0, two, 0, 32, 128, 5408, parallelism: 2);
        Assert.Equal(one, two);
        var (x, y) = (new float[32 * 5408], new float[32 * 5408]);
        SimdGemm.MultiplyNN(Matrix.RowMajor(a, 128, 0), Matrix.RowMajor(b, 5408), x, 0, 32, 5408, 128, parallelism: 1);
        SimdGemm.MultiplyNN(Matrix.RowMajor(a, 128, 0), Matrix.RowMajor(b, 5408), y, 0, 32, 5408, 128, parallelism: 2);
        Assert.Equal(x, y);
    }

    [Fact]
    public void Views_that_do_not_fit_are_refused_before_any_unchecked_load()
    {
        var small = new float[10];
        Assert.Throws<ArgumentException>(() => SimdGemm.MultiplyNT(small, 0, small, 0, new float[4], 0, 2, 2, 8, 1));
        Assert.Throws<ArgumentException>(() => SimdGemm.MultiplyNN(Matrix.RowMajor(small, 5), Matrix.RowMajor(new float[100], 16), new float[16], 0, 2, 16, 5, 1));
        // A table whose middle row runs past the end: only checking the first and last rows would miss it.
        var rows = Matrix.Rows(new float[100], [0, 90, 16]);
        Assert.Throws<ArgumentException>(() => SimdGemm.MultiplyNN(Matrix.RowMajor(small, 3), rows, new float[32], 0, 2, 16, 3, 1));
        Assert.Throws<ArgumentException>(() => SimdGemm.MultiplyNT(Matrix.RowMajor(small, 16), rows, new float[6], 0, 2, 3, 16, 1));
    }
}
