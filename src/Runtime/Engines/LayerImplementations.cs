using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>What an engine's per-kind implementation says of itself: its layer kind, or that it is a fused op.</summary>
internal interface ILayerImplementation
{
    LayerKind Kind { get; }

    /// <summary>A fused op (the conv block) rather than a layer kind's own implementation.</summary>
    bool IsFusion { get; }
}

/// <summary>
/// An engine's implementations of the layer kinds, found by reflection over the classes derived from
/// <typeparamref name="T"/>: one per kind, plus the conv block. A kind without one is an error naming the engine.
/// </summary>
internal sealed class LayerImplementations<T> where T : class, ILayerImplementation
{
    private readonly Dictionary<LayerKind, T> _byKind;
    private readonly T _block;
    private readonly string _engine;

    public LayerImplementations(string engine, string alternative)
    {
        var all = typeof(T).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(T)) && !t.IsAbstract)
            .Select(t => (T)Activator.CreateInstance(t, nonPublic: true)!).ToArray();
        _byKind = all.Where(l => !l.IsFusion).ToDictionary(l => l.Kind);
        _block = all.Single(l => l.IsFusion);
        (_engine, Alternative) = (engine, alternative);
    }

    private string Alternative { get; }

    /// <summary>The implementation that runs <paramref name="op"/>: the conv block's, or its layer kind's.</summary>
    public T For(Op op) => op.Block ? _block
        : _byKind.TryGetValue(op.Kind, out var layer) ? layer
        : throw new FashionGpuException($"the {_engine} has no implementation of layer kind {op.Kind}; run this model with {Alternative}");

    /// <summary>The kinds implemented (the tests check that this is every kind that moves data).</summary>
    public IReadOnlyCollection<LayerKind> Kinds => _byKind.Keys;
}
