using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The SIMD engine's parallel loops: one worker thread per core but the caller's, which spin for a moment after each
/// loop before they sleep. A training step runs dozens of loops, many of a few microseconds; handing work to a spinning
/// thread costs a fraction of what <see cref="Parallel.For(int, int, Action{int})"/> costs to start, so small products
/// can use every core.
/// </summary>
/// <remarks>
/// Which thread runs an index varies from run to run; every caller makes each index's result independent of that. The
/// caller works through the indices too and waits only for workers that took some: a worker still asleep when the loop
/// ends does nothing. A loop started while another runs (another engine on another thread, or a loop inside a loop's
/// body) runs on <see cref="Parallel"/>.
/// </remarks>
public static class WorkerTeam
{
    /// <summary>How long a worker spins for the next loop before it sleeps: longer than the gaps inside a training step.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000;

    private static readonly Worker[] Workers = Enumerable.Range(0, Environment.ProcessorCount - 1).Select(id => new Worker(id)).ToArray();
    private static Loop? _current;
    private static int _busy;

    /// <summary><paramref name="body"/>(i) for i in [0, count) on up to <paramref name="parallelism"/> threads.</summary>
    public static void For(int count, int parallelism, Action<int> body)
    {
        var threads = Threads(count, parallelism);
        Run(new IndexLoop(count, threads, body), threads, parallelism);
    }

    /// <summary>
    /// As <see cref="For(int, int, Action{int})"/> with state for each thread that takes part (a scratch buffer):
    /// <paramref name="init"/> before its first index, <paramref name="final"/> after its last.
    /// </summary>
    public static void For<TLocal>(int count, int parallelism, Func<TLocal> init, Func<int, TLocal, TLocal> body, Action<TLocal> final)
    {
        var threads = Threads(count, parallelism);
        Run(new LocalLoop<TLocal>(count, threads, init, body, final), threads, parallelism);
    }

    private static int Threads(int count, int parallelism) => Math.Clamp(Math.Min(parallelism, count), 1, Workers.Length + 1);

    private static void Run(Loop loop, int threads, int parallelism)
    {
        if (threads == 1)
        {
            loop.Work(0);
            loop.Rethrow();
            return;
        }
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, loop.Work);
            loop.Rethrow();
            return;
        }
        try
        {
            Interlocked.Exchange(ref _current, loop);
            for (var w = 0; w < threads - 1; w++)
                Workers[w].Wake();
            loop.Work(0);
            // Every index is taken; wait for the workers still running theirs.
            var spin = new SpinWait();
            while (Volatile.Read(ref loop.Active) != 0)
                spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            // Workers must not keep the loop's captures (the engine's buffers) alive.
            Interlocked.Exchange(ref _current, null);
            Volatile.Write(ref _busy, 0);
        }
        loop.Rethrow();
    }

    /// <summary>
    /// A loop's indices in one contiguous range per thread, so threads share no cache line but at their ranges' ends
    /// (outputs split by column panels have one at every panel's edge); a thread done with its range takes indices from
    /// the others'. A worker counts itself in <see cref="Active"/> while it works.
    /// </summary>
    private abstract class Loop
    {
        private const int Padding = 16;
        private readonly int[] _next, _end;
        private Exception? _error;
        public readonly int Threads;
        public int Active;

        protected Loop(int count, int threads)
        {
            Threads = threads;
            (_next, _end) = (new int[threads * Padding], new int[threads]);
            for (var t = 0; t < threads; t++)
                (_next[t * Padding], _end[t]) = ((int)((long)t * count / threads), (int)((long)(t + 1) * count / threads));
        }

        /// <summary>Runs indices until none are left, thread <paramref name="thread"/>'s own range first.</summary>
        public abstract void Work(int thread);

        protected bool Take(int thread, out int index)
        {
            for (var t = thread; t < thread + Threads; t++)
            {
                var range = t % Threads;
                index = Interlocked.Increment(ref _next[range * Padding]) - 1;
                if (index < _end[range])
                    return true;
            }
            index = -1;
            return false;
        }

        /// <summary>Keeps the first exception and hands out no more indices.</summary>
        protected void Fail(Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            for (var t = 0; t < Threads; t++)
                Interlocked.Exchange(ref _next[t * Padding], _end[t]);
        }

        public void Rethrow()
        {
            if (_error is { } e)
                ExceptionDispatchInfo.Throw(e);
        }
    }

    private sealed class IndexLoop(int count, int threads, Action<int> body) : Loop(count, threads)
    {
        public override void Work(int thread)
        {
            try
            {
                while (Take(thread, out var i))
                    body(i);
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
    }

    private sealed class LocalLoop<TLocal>(int count, int threads, Func<TLocal> init, Func<int, TLocal, TLocal> body, Action<TLocal> final)
        : Loop(count, threads)
    {
        public override void Work(int thread)
        {
            if (!Take(thread, out var i))
                return;
            TLocal local;
            try
            {
                local = init();
            }
            catch (Exception e)
            {
                Fail(e);
                return;
            }
            try
            {
                do
                    local = body(i, local);
                while (Take(thread, out i));
            }
            catch (Exception e)
            {
                Fail(e);
            }
            try
            {
                final(local);
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
    }

    private sealed class Worker
    {
        private readonly int _id;
        private readonly SemaphoreSlim _signal = new(0);
        private int _sleeping;

        public Worker(int id)
        {
            _id = id;
            new Thread(Run) { IsBackground = true, Name = $"simd worker {id + 1}" }.Start();
        }

        /// <summary>Called after a new loop is published: a sleeping worker is woken, a spinning one sees it anyway.</summary>
        public void Wake()
        {
            if (Interlocked.Exchange(ref _sleeping, 0) == 1)
                _signal.Release();
        }

        private void Run()
        {
            Loop? last = null;
            while (true)
            {
                var since = Stopwatch.GetTimestamp();
                Loop? loop;
                while ((loop = Volatile.Read(ref _current)) == last)
                {
                    Thread.SpinWait(8);
                    if (Stopwatch.GetTimestamp() - since < SpinTicks)
                        continue;
                    // Announce the sleep, then look once more: a loop published in between either is seen here or wakes us.
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (Volatile.Read(ref _current) == last || Interlocked.Exchange(ref _sleeping, 0) == 0)
                        _signal.Wait();
                    since = Stopwatch.GetTimestamp();
                }
                last = loop;
                if (loop is null || _id + 1 >= loop.Threads)
                    continue;
                Interlocked.Increment(ref loop.Active);
                loop.Work(_id + 1);
                Interlocked.Decrement(ref loop.Active);
            }
        }
    }
}
