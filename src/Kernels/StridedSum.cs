using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Σ_j values[first + j·stride] for j &lt; count as four running sums (j mod 4) added as (s0 + s1) + (s2 + s3): a fixed
/// order, so the result is deterministic, whose four loads per step do not wait on each other. A single running sum
/// makes a GPU thread wait out a memory latency per term (a warp issues in order: the next load waits for the add).
/// </summary>
public static class StridedSum
{
    public static float Of(ArrayView<float> values, int first, int stride, int count)
    {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        var j = 0;
        for (; j + 4 <= count; j += 4)
        {
            var at = first + j * stride;
            s0 += values[at];
            s1 += values[at + stride];
            s2 += values[at + 2 * stride];
            s3 += values[at + 3 * stride];
        }
        for (; j < count; j++)
            s0 += values[first + j * stride];
        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>The same four-lane sum in double.</summary>
    public static double Of(ArrayView<double> values, int first, int stride, int count)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var j = 0;
        for (; j + 4 <= count; j += 4)
        {
            var at = first + j * stride;
            s0 += values[at];
            s1 += values[at + stride];
            s2 += values[at + 2 * stride];
            s3 += values[at + 3 * stride];
        }
        for (; j < count; j++)
            s0 += values[first + j * stride];
        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Σ_j (values[first + j·stride] - center)² in the same four lanes and order.</summary>
    public static double OfSquaredDeviations(ArrayView<double> values, int first, int stride, int count, double center)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var j = 0;
        for (; j + 4 <= count; j += 4)
        {
            var at = first + j * stride;
            var (d0, d1, d2, d3) = (values[at] - center, values[at + stride] - center, values[at + 2 * stride] - center, values[at + 3 * stride] - center);
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; j < count; j++)
        {
            var d = values[first + j * stride] - center;
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }
}
