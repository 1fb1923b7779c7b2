namespace FashionGpu.Kernels;

/// <summary>
/// How a row-wise kernel splits its rows across threads: each thread takes <see cref="Columns"/> consecutive elements
/// of one row. The CPU accelerator gives a thread a whole row (a simulated thread is costly); GPUs one element, so a
/// launch offers as many threads as there are outputs.
/// </summary>
public readonly struct RowStrips
{
    public RowStrips(int width, int columns)
    {
        Width = width;
        Columns = columns < 1 ? 1 : columns > width ? width : columns;
    }

    public int Width { get; }
    public int Columns { get; }
    public int PerRow => (Width + Columns - 1) / Columns;
    public int Threads(int rows) => rows * PerRow;
    public int Row(int thread) => thread / PerRow;
    public int Begin(int thread) => thread % PerRow * Columns;
    public int End(int thread) => Begin(thread) + Columns < Width ? Begin(thread) + Columns : Width;
}
