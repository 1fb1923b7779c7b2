namespace FashionGpu.Kernels;

/// <summary>
/// Counter-based random numbers: every draw is a pure function of (key, counter), so a dropout mask, a weight
/// initialisation or a shuffle can be recomputed anywhere (device, host, Python) and a resumed run draws exactly what
/// an uninterrupted one would. The mixer is SplitMix64's finaliser; a key is derived once per (seed, stream).
/// </summary>
public static class CounterRng
{
    /// <summary>2⁶⁴/φ, SplitMix64's increment: a counter's hash input is key + (counter + 1)·Golden.</summary>
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>Streams keep unrelated uses of one seed apart.</summary>
    public const ulong DropoutStream = 1UL << 56;
    public const ulong InitStream = 2UL << 56;
    public const ulong ShuffleStream = 3UL << 56;
    public const ulong AugmentStream = 4UL << 56;
    /// <summary>Each image's own flip bit under --augment flip-alternate (one key for the whole run).</summary>
    public const ulong FlipStream = 5UL << 56;

    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }

    public static ulong Key(ulong seed, ulong stream) => Mix(seed ^ Mix(stream + Golden));

    public static ulong Hash(ulong key, ulong counter) => Mix(key + (counter + 1) * Golden);

    /// <summary>Uniform in [0, 1) with 24 random bits: exactly representable as a float.</summary>
    public static float UniformFloat(ulong key, ulong counter) => (Hash(key, counter) >> 40) * (1.0f / 16777216.0f);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double UniformDouble(ulong key, ulong counter) => (Hash(key, counter) >> 11) * (1.0 / 9007199254740992.0);
}
