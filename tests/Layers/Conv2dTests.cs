using System.Buffers;
using System.Runtime.Intrinsics.X86;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// A convolution on its own (the unfused path: any channel count, 3x3 and 5x5, valid and same padding) against the
/// double-precision reference: y, dW, db and dx. Tolerance: 1e-6 + 1e-5·Σ|terms| per element.
/// </summary>
public abstract class Conv2dTests(LayerBackend layers)
{
    [Theory]
    [InlineData(1, 1, 3, 5, 5, 3, 0)] // batch 1, one input channel, valid
    [InlineData(7, 3, 4, 6, 7, 5, 2)] // batch 7, three channels, 5x5 same
    [InlineData(2, 16, 8, 9, 8, 3, 1)] // 16 input channels, same
    [InlineData(3, 2, 5, 7, 5, 5, 0)] // 5x5 valid on a narrow image
    [InlineData(2, 4, 6, 14, 14, 3, 1)] // a model-like map
    [InlineData(3, 3, 4, 8, 20, 3, 2)] // padding past "same": dy's planes reach further on the wider output grid
    public void Forward_and_backward_match_the_reference(int batch, int cin, int cout, int h, int w, int k, int pad)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k, pad);
        var random = new Random(batch * 1000 + cin * 100 + k * 10 + pad);
        var x = TestData.Uniform(random, batch * cin * h * w);
        var weight = TestData.Uniform(random, cout * s.Taps);
        var bias = TestData.Uniform(random, cout);
        var dy = TestData.Uniform(random, batch * cout * s.OutHeight * s.OutWidth);

        var y = layers.Conv2dForward(x, weight, bias, s);
        var (dw, db, dx) = layers.Conv2dBackward(x, dy, weight, s);

        var (xd, wd, dyd) = (TestData.ToDouble(x), TestData.ToDouble(weight), TestData.ToDouble(dy));
        var (want, scale) = Reference.ConvForward(xd, wd, TestData.ToDouble(bias), s, relu: false);
        Close.All("conv2d y", want, y, scale, 1e-5);
        var grad = Reference.ConvBackwardParameters(xd, dyd, s);
        Close.All("conv2d dW", grad.DW, dw, grad.DWScale, 1e-5);
        Close.All("conv2d db", grad.DB, db, grad.DBScale, 1e-5);
        var (wantDx, dxScale) = Reference.ConvBackwardInput(dyd, wd, s);
        Close.All("conv2d dx", wantDx, dx, dxScale, 1e-5);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuConv2dTests(CpuDeviceFixture gpu) : Conv2dTests(new IlgpuLayers(gpu));

public sealed class SimdConv2dTests() : Conv2dTests(new SimdLayers());

/// <summary>The GPU path: a thread per output element, and per-image partial parameter gradients summed in order.</summary>
[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledConv2dTests(GroupedCpuDeviceFixture gpu) : Conv2dTests(new IlgpuLayers(gpu));

/// <summary>
/// The SIMD engine's conv + max-pool (a conv2d followed by a max-pool in the model): the same bits as the conv and the
/// pool run one after the other, which the tests above and the pooling tests check against the references. Shapes
/// cover odd outputs (floor mode drops a row and a column), pooled rows under four windows (the scalar tail) and over.
/// </summary>
public sealed class SimdConvPoolTests
{
    private static readonly int AllCores = Environment.ProcessorCount;

    [Theory]
    [InlineData(3, 1, 8, 28, 28, 3, 1)] // a first layer
    [InlineData(2, 6, 16, 14, 14, 5, 2)] // the model-step fixture's second conv
    [InlineData(3, 2, 5, 9, 11, 3, 0)] // valid: 7x9 outputs, pooled 3x4
    [InlineData(2, 3, 4, 7, 6, 3, 1)] // pooled 3x3: rows eight windows at a time into the next row, the last row scalar
    [InlineData(3, 3, 4, 15, 15, 3, 1)] // pooled 7x7 on 17-wide rows, floor mode dropping row and column 14
    // One input channel, 3x3, eight or more pooled columns: computed at the pooled outputs in strips of eight.
    [InlineData(2, 1, 5, 28, 28, 3, 0)] // valid: pooled 13x13, the second strip overlapping the first
    [InlineData(2, 1, 3, 20, 17, 3, 1)] // an odd width (split column by column): pooled 10x8, one strip
    [InlineData(1, 1, 4, 18, 32, 3, 2)] // padding 2: pooled 10x17, three strips
    [InlineData(2, 1, 6, 28, 28, 3, 1, 300)] // a NaN pixel: the pool keeps the first NaN of each window
    // Wide rows of 16 (14 wide and "same", or 16 wide and valid): pooled a row pair to a 512-bit vector pair.
    [InlineData(2, 16, 5, 12, 16, 3, 0)] // valid: 10x14 outputs, pooled 5x7
    [InlineData(2, 3, 4, 13, 14, 3, 1)] // floor mode dropping row 12
    [InlineData(2, 4, 8, 14, 14, 3, 1, 100)] // a NaN pixel: the pool keeps the first NaN of each window
    // 16 to 32 input channels, 3x3: the backward from the pooled cells alone (PooledConvBackward).
    [InlineData(3, 24, 48, 14, 14, 3, 1)] // the fast recipe's second conv: pooled 7x7, 32-float pixels
    [InlineData(2, 16, 5, 9, 11, 3, 0)] // valid: 7x9 outputs, pooled 3x4, 16-float pixels
    [InlineData(2, 32, 6, 15, 15, 3, 1)] // pooled 7x7, floor mode dropping row and column 14
    [InlineData(1, 24, 4, 28, 28, 3, 1)] // pooled 14x14: the dense db's sum has a tail past its 32-column blocks
    [InlineData(2, 16, 3, 8, 20, 3, 2)] // padding 2: pooled 5x11 on an image eight rows high
    public void Conv_then_pool_fused_gives_the_bits_of_the_two_ops(int batch, int cin, int cout, int h, int w, int k, int pad, int nanPixel = -1)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k, pad);
        var pool = new PoolShape(batch, cout, s.OutHeight, s.OutWidth);
        var random = new Random(batch * 1000 + cin * 100 + k * 10 + pad);
        var x = TestData.Uniform(random, batch * cin * h * w);
        if (nanPixel >= 0)
            x[nanPixel] = float.NaN;
        var weight = TestData.Uniform(random, cout * s.Taps);
        var bias = TestData.Uniform(random, cout);
        var dy = TestData.Uniform(random, batch * cout * pool.OutHeight * pool.OutWidth);
        var pooled = dy.Length;

        var conv = new float[batch * cout * s.OutHeight * s.OutWidth];
        SimdConv2d.Forward(x, weight, 0, bias, conv, null, s, AllCores);
        var (wantY, wantArgmax) = (new float[pooled], new int[pooled]);
        SimdMaxPool.Forward(conv, wantY, wantArgmax, pool, AllCores);
        var dConv = new float[conv.Length];
        SimdMaxPool.Backward(dy, wantArgmax, dConv, pool, AllCores);
        var (wantDw, wantDb, wantDx) = Backward(x, dConv, null, weight, s);

        var (y, argmax) = (new float[pooled], new int[pooled]);
        SimdConv2d.Forward(x, weight, 0, bias, y, argmax, s, AllCores);
        Assert.Equal(wantY, y);
        Assert.Equal(wantArgmax, argmax);
        var (dw, db, dx) = Backward(x, dy, argmax, weight, s);
        Assert.Equal(wantDw, dw);
        Assert.Equal(wantDb, db);
        Assert.Equal(wantDx, dx);
    }

    /// <summary>
    /// <see cref="PooledConvBackward"/>'s two forms, the 512-bit one (AVX-512) and the 256-bit one (eight channels at a
    /// time, as AVX2-only processors run it), each called image by image with the partials added in image order as
    /// <see cref="SimdConv2d.Backward"/> adds them: every bit of dW, db and dx that the conv and the pool give apart.
    /// The test above checks only the form this processor picks.
    /// </summary>
    [SkippableTheory]
    [InlineData(3, 24, 48, 14, 14, 3, 1, true)]
    [InlineData(3, 24, 48, 14, 14, 3, 1, false)]
    [InlineData(2, 16, 5, 9, 11, 3, 0, true)]
    [InlineData(2, 16, 5, 9, 11, 3, 0, false)]
    [InlineData(2, 32, 6, 15, 15, 3, 1, true)]
    [InlineData(2, 32, 6, 15, 15, 3, 1, false)]
    [InlineData(1, 24, 4, 28, 28, 3, 1, false)]
    [InlineData(2, 16, 3, 8, 20, 3, 2, false)]
    public void Pooled_backward_in_either_vector_width_gives_the_bits_of_the_two_ops(int batch, int cin, int cout, int h, int w, int k, int pad,
        bool wide)
    {
        Skip.If(wide && !PooledConvBackward.Wide, "this processor has no AVX-512 for the 512-bit form");
        Skip.IfNot(Avx2.IsSupported && Fma.IsSupported, "this processor has no AVX2 and FMA");
        var s = new ConvShape(batch, cin, cout, h, w, k, pad);
        var pool = new PoolShape(batch, cout, s.OutHeight, s.OutWidth);
        var random = new Random(batch * 1000 + cin * 100 + k * 10 + pad);
        var x = TestData.Uniform(random, batch * cin * h * w);
        var weight = TestData.Uniform(random, cout * s.Taps);
        var dy = TestData.Uniform(random, batch * cout * pool.OutHeight * pool.OutWidth);
        var conv = new float[batch * cout * s.OutHeight * s.OutWidth];
        SimdConv2d.Forward(x, weight, 0, new float[cout], conv, null, s, AllCores);
        var (y, argmax) = (new float[dy.Length], new int[dy.Length]);
        SimdMaxPool.Forward(conv, y, argmax, pool, AllCores);
        var dConv = new float[conv.Length];
        SimdMaxPool.Backward(dy, argmax, dConv, pool, AllCores);
        var (wantDw, wantDb, wantDx) = Backward(x, dConv, null, weight, s);

        // The dense backward's grid, which orders the sums: rows W + K - 1 wide, OH of them, in whole 16-column tiles.
        var gridWidth = w + k - 1;
        var gridColumns = (s.OutHeight * gridWidth + 15) / 16 * 16;
        var image = new ConvShape(1, cin, cout, h, w, k, pad);
        var (pixels, pooled, length) = (cin * h * w, dy.Length / batch, SimdConv2d.PartialLength(s));
        var filters = PooledConvBackward.ChannelLastFilters(weight, image, wide);
        var buffer = PooledConvBackward.Buffer(image, wide);
        var (sum, dx) = (new float[length], new float[x.Length]);
        var partial = new float[length];
        for (var n = 0; n < batch; n++)
        {
            PooledConvBackward.Image(x.AsSpan(n * pixels, pixels), dy.AsSpan(n * pooled, pooled), argmax.AsSpan(n * pooled, pooled), partial,
                dx.AsSpan(n * pixels, pixels), filters, buffer.Span, image, gridWidth, gridColumns, wide);
            for (var i = 0; i < length; i++)
                sum[i] = n == 0 ? partial[i] : sum[i] + partial[i];
        }
        ArrayPool<float>.Shared.Return(filters);
        var dw = new float[cout * s.Taps];
        PooledConvBackward.ToFilterOrder(sum, dw, s);
        Assert.Equal(wantDw, dw);
        Assert.Equal(wantDb, sum.AsSpan(cout * s.Taps, cout).ToArray());
        Assert.Equal(wantDx, dx);
    }

    private static (float[] DW, float[] DB, float[] DX) Backward(float[] x, float[] dy, int[]? argmax, float[] weight, ConvShape s)
    {
        var (dw, db, dx) = (new float[s.OutChannels * s.Taps], new float[s.OutChannels], new float[x.Length]);
        SimdConv2d.Backward(x, dy, argmax, weight, 0, new float[s.Batch * SimdConv2d.PartialLength(s)], dw, db, dx, s, AllCores);
        return (dw, db, dx);
    }
}
