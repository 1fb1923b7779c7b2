using System.Runtime.ExceptionServices;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// Splits read and checked on a thread-pool thread while the calling thread opens the engine: the two are independent
/// and each takes a good part of a second, so a run starts sooner. The engine stays on the calling thread, since a
/// CUDA context is current on the thread that made it.
/// </summary>
internal sealed class DataLoading
{
    private readonly Task<LoadedSplit[]> _loading;

    public DataLoading(DataSource source, params Split[] splits) =>
        _loading = Task.Run(() => splits.Select(split => FashionMnist.Load(source, split)).ToArray());

    /// <summary>
    /// The engine <paramref name="open"/> makes on this thread. Where it fails and the data failed too, the data's error
    /// is the one thrown, as when the data was read first.
    /// </summary>
    public IEngine OpenEngine(Func<IEngine> open)
    {
        try
        {
            return open();
        }
        catch
        {
            if (LoadingError() is { } dataError)
                ExceptionDispatchInfo.Throw(dataError);
            throw;
        }
    }

    private Exception? LoadingError()
    {
        try
        {
            _loading.Wait();
            return null;
        }
        catch (AggregateException e)
        {
            return e.InnerException;
        }
    }

    /// <summary>The splits in the order asked for, once read; the loading's own error if it failed.</summary>
    public LoadedSplit[] Splits => _loading.GetAwaiter().GetResult();
}
