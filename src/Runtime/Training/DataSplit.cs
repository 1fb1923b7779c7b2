using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Training;

/// <summary>
/// The validation hold-out and each epoch's order, as pure functions of the seed: a Fisher-Yates shuffle whose swaps
/// come from <see cref="CounterRng"/> (stream ShuffleStream + 0 for the split, + 1 + epoch for epoch orders).
/// </summary>
public static class DataSplit
{
    public static (int[] Train, int[] Validation) Create(int count, double validationFraction, ulong seed)
    {
        var order = Shuffle(Enumerable.Range(0, count).ToArray(), CounterRng.Key(seed, CounterRng.ShuffleStream));
        var validation = (int)Math.Round(count * validationFraction);
        return (order[..(count - validation)], order[(count - validation)..]);
    }

    public static int[] EpochOrder(int[] train, ulong seed, int epoch) =>
        Shuffle((int[])train.Clone(), CounterRng.Key(seed, CounterRng.ShuffleStream + 1 + (ulong)epoch));

    private static int[] Shuffle(int[] items, ulong key)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)(CounterRng.Hash(key, (ulong)i) % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
        return items;
    }
}
