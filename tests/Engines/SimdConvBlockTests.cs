using FashionGpu.Kernels;
using FashionGpu.Runtime.Engines.Simd;

namespace FashionGpu.Tests.Engines;

/// <summary>
/// The SIMD conv block's forward bit for bit against a scalar emulation of its documented order: per conv output the
/// bias, then one FMA per tap in (ky, kx) order; ReLU and the 2x2 max-pool by <see cref="NanRule"/> (a NaN stays NaN,
/// the window's first maximum or first NaN wins). The inputs hold what a shortcut would get wrong: NaN and infinite
/// pixels, ties of exact zeros, and −0 sums (a −0 bias over zero pixels).
/// </summary>
public sealed class SimdConvBlockTests
{
    [Theory]
    [InlineData(3, 8, 28, 28)] // the model's shape: two overlapping strips of eight pooled columns
    [InlineData(2, 3, 23, 40)] // strips at 0, 8 and 11, odd height
    [InlineData(2, 5, 20, 19)] // one strip, odd width
    public void Forward_gives_the_documented_order_s_bits_on_special_values(int batch, int filters, int height, int width)
    {
        var s = new ConvShape(batch, 1, filters, height, width, 3);
        var random = new Random(batch * 1000 + filters * 10 + width);
        var x = new float[batch * height * width];
        for (var i = 0; i < x.Length; i++)
            x[i] = random.Next(12) switch
            {
                0 or 1 or 2 => 0f,
                3 when random.Next(8) == 0 => float.NaN,
                4 when random.Next(8) == 0 => random.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                _ => random.NextSingle() * 2 - 1,
            };
        // Bands of four zero rows: an even filter (negative weights, a −0 bias) sums a window inside one to −0, which
        // ReLU and the pool must keep as it is.
        for (var r = 0; r < batch * height; r++)
            if (r % 10 < 4)
                Array.Clear(x, r * width, width);
        var weight = Enumerable.Range(0, filters * 9).Select(i => i / 9 % 2 == 0 ? -random.NextSingle() : random.Next(10) == 0 ? -0f : random.NextSingle() - 0.5f).ToArray();
        var bias = Enumerable.Range(0, filters).Select(f => f % 2 == 0 ? -0f : random.NextSingle() - 0.5f).ToArray();

        var outputs = ConvBlockKernels.Outputs(s);
        var (y, argmax) = (new float[batch * outputs], new int[batch * outputs]);
        SimdConvBlock.Forward(x, weight, bias, y, argmax, s, DropoutParameters.None, parallelism: 2);

        var (ph, pw) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s));
        var negativeZeros = 0;
        for (var n = 0; n < batch; n++)
            for (var co = 0; co < filters; co++)
                for (var py = 0; py < ph; py++)
                    for (var px = 0; px < pw; px++)
                    {
                        var (best, which) = (0f, 0);
                        for (var cell = 0; cell < 4; cell++)
                        {
                            var (oy, ox) = (2 * py + cell / 2, 2 * px + cell % 2);
                            var sum = bias[co];
                            for (var t = 0; t < 9; t++)
                                sum = MathF.FusedMultiplyAdd(x[(n * height + oy + t / 3) * width + ox + t % 3], weight[co * 9 + t], sum);
                            var v = NanRule.Relu(sum);
                            if (cell == 0 || NanRule.Beats(v, best))
                                (best, which) = (v, cell);
                        }
                        var i = n * outputs + (co * ph + py) * pw + px;
                        Assert.True(BitConverter.SingleToInt32Bits(best) == BitConverter.SingleToInt32Bits(y[i]) && which == argmax[i],
                            $"image {n}, filter {co}, pooled ({py}, {px}): {y[i]:R} from cell {argmax[i]}, the documented order gives {best:R} from cell {which}");
                        negativeZeros += BitConverter.SingleToInt32Bits(best) == int.MinValue ? 1 : 0;
                    }
        Assert.True(negativeZeros > 0, "no pooled output was −0: the inputs no longer test it");
    }
}
