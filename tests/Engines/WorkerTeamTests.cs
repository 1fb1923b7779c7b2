using FashionGpu.Runtime.Engines.Simd;

namespace FashionGpu.Tests.Engines;

/// <summary>The SIMD engine's parallel loops: every index once, per-thread state, errors, and loops that meet.</summary>
public sealed class WorkerTeamTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(7, 1)]
    [InlineData(1000, 2)]
    [InlineData(1001, 16)]
    public void Runs_every_index_exactly_once(int count, int parallelism)
    {
        for (var round = 0; round < 50; round++)
        {
            var hits = new int[count];
            WorkerTeam.For(count, parallelism, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void Gives_each_thread_its_own_state_and_finishes_each_once()
    {
        const int count = 200;
        var owner = new int[count];
        var finished = new List<int[]>();
        WorkerTeam.For(count, Environment.ProcessorCount, () => new int[1], (i, state) =>
        {
            owner[i] = Environment.CurrentManagedThreadId;
            state[0]++;
            return state;
        }, state =>
        {
            lock (finished)
                finished.Add(state);
        });
        Assert.Equal(count, finished.Sum(s => s[0]));
        Assert.InRange(finished.Count, 1, Environment.ProcessorCount);
        Assert.Equal(finished.Count, finished.Distinct().Count());
        Assert.Equal(finished.Count, owner.Distinct().Count());
    }

    [Fact]
    public void An_exception_reaches_the_caller_and_the_team_keeps_working()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            WorkerTeam.For(100, 2, i =>
            {
                if (i == 77)
                    throw new InvalidOperationException("index 77");
            }));
        Assert.Equal("index 77", error.Message);

        var finals = 0;
        Assert.Throws<InvalidOperationException>(() => WorkerTeam.For(100, 2, () => 0, (i, s) =>
            i == 3 ? throw new InvalidOperationException() : s, _ => Interlocked.Increment(ref finals)));
        Assert.InRange(finals, 1, 2);

        var sum = 0L;
        WorkerTeam.For(100, 2, i => Interlocked.Add(ref sum, i));
        Assert.Equal(4950, sum);
    }

    [Fact]
    public void Loops_inside_loops_and_loops_from_several_threads_all_finish()
    {
        var hits = new int[4, 8, 64];
        Parallel.For(0, 4, caller =>
        {
            for (var round = 0; round < 20; round++)
                WorkerTeam.For(8, 2, outer => WorkerTeam.For(64, 2, inner => Interlocked.Increment(ref hits[caller, outer, inner])));
        });
        foreach (var h in hits)
            Assert.Equal(20, h);
    }
}
