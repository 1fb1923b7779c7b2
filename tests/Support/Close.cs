namespace FashionGpu.Tests.Support;

/// <summary>
/// Float results against double references. A float sum of terms t_i can be off by about √n·ε·Σ|t_i|, so each
/// comparison is |got - want| ≤ absolute + relative·scale_i, where scale_i is Σ|t_i| (or |want| for element-wise work).
/// </summary>
public static class Close
{
    public static void All(string what, double[] want, float[] got, double[] scale, double relative, double absolute = 1e-6)
    {
        Assert.Equal(want.Length, got.Length);
        var worst = 0.0;
        var worstIndex = -1;
        for (var i = 0; i < want.Length; i++)
        {
            var allowed = absolute + relative * scale[i];
            var error = Math.Abs(got[i] - want[i]);
            var excess = error <= allowed ? 0 : allowed > 0 ? error / allowed : double.PositiveInfinity;
            if (double.IsNaN(error))
                excess = double.PositiveInfinity;
            if (excess > worst)
            {
                worst = excess;
                worstIndex = i;
            }
        }
        Assert.True(worst <= 1.0,
            $"{what}: element {worstIndex} is {got[Math.Max(0, worstIndex)]}, want {want[Math.Max(0, worstIndex)]} " +
            $"(error {worst:F2}x the tolerance of {absolute:G2} + {relative:G2}·{scale[Math.Max(0, worstIndex)]:G4})");
    }

    public static void All(string what, double[] want, float[] got, double relative, double absolute = 1e-6) =>
        All(what, want, got, Array.ConvertAll(want, Math.Abs), relative, absolute);
}
