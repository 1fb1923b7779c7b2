namespace FashionGpu.Tests.Support;

public static class TestData
{
    public static float[] Uniform(Random random, int length, float low = -1f, float high = 1f)
    {
        var data = new float[length];
        for (var i = 0; i < length; i++)
            data[i] = low + (high - low) * random.NextSingle();
        return data;
    }

    public static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);
}
