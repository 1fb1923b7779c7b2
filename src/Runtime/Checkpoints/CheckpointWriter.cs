namespace FashionGpu.Runtime.Checkpoints;

/// <summary>
/// Writes a run's checkpoints on a background thread, one batch at a time and in order, so that the next epoch trains
/// while the last one's bytes go to disk. A batch starts only after the one before it has finished; a failed write
/// surfaces at the next <see cref="Start"/> or <see cref="Finish"/>. The state a batch writes must be a copy the
/// training does not touch (<c>IEngine.ReadState</c> returns one).
/// </summary>
public sealed class CheckpointWriter
{
    private Task _pending = Task.CompletedTask;

    /// <summary>Waits for the batch under way (throwing its failure), then starts <paramref name="write"/>.</summary>
    public void Start(Action write)
    {
        Finish();
        _pending = Task.Run(write);
    }

    /// <summary>Waits for the batch under way and throws its failure, if any.</summary>
    public void Finish()
    {
        var pending = _pending;
        _pending = Task.CompletedTask;
        pending.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Waits for the batch under way and drops its failure: for a run already ending with an error of its own, which is
    /// the one to report.
    /// </summary>
    public void FinishQuietly()
    {
        try
        {
            Finish();
        }
        catch (Exception)
        {
        }
    }
}
