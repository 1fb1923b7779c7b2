namespace FashionGpu.Runtime.Data;

/// <summary>
/// Reads the Kaggle CSV form: a header `label,pixel1,...,pixel784`, then one row per image of 785 integers (label
/// 0..9, pixels 0..255). Parses bytes as they stream by (no string per cell); errors name the file and line.
/// </summary>
public static class CsvReader
{
    private const int Cells = 785;

    public static LabeledImages Read(string path)
    {
        using var stream = IdxReader.Open(path);
        var pixels = new MemoryStream();
        var labels = new List<byte>();
        var row = new int[Cells];
        var line = 1;
        ReadHeader(stream, path);
        var buffer = new byte[1 << 16];
        int cell = 0, value = 0, digits = 0;
        var rowStarted = false;
        int count;
        while ((count = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < count; i++)
            {
                var b = buffer[i];
                if (b is >= (byte)'0' and <= (byte)'9')
                {
                    value = value * 10 + (b - '0');
                    if (++digits > 3)
                        throw new DataFormatException(path, $"line {line + 1}: cell {cell + 1} is out of range");
                    rowStarted = true;
                }
                else if (b == ',' || b == '\n')
                {
                    if (digits == 0 && (b == ',' || rowStarted))
                        throw new DataFormatException(path, $"line {line + 1}: cell {cell + 1} is empty or not a number");
                    if (digits > 0)
                    {
                        if (cell >= Cells)
                            throw new DataFormatException(path, $"line {line + 1}: more than {Cells} cells");
                        row[cell++] = value;
                    }
                    value = digits = 0;
                    if (b == '\n')
                    {
                        line++;
                        if (rowStarted)
                            EndRow(path, line, row, cell, pixels, labels);
                        cell = 0;
                        rowStarted = false;
                    }
                }
                else if (b != '\r' && b != ' ')
                {
                    throw new DataFormatException(path, $"line {line + 1}: cell {cell + 1} is not a whole number from 0 to 255 (it has a '{(char)b}')");
                }
            }
        }
        if (rowStarted)
        {
            if (digits > 0)
                row[cell++] = value;
            EndRow(path, line + 1, row, cell, pixels, labels);
        }
        if (labels.Count == 0)
            throw new DataFormatException(path, "has a header but no rows");
        return new LabeledImages(pixels.ToArray(), labels.ToArray(), path);
    }

    private static void EndRow(string path, int line, int[] row, int cells, MemoryStream pixels, List<byte> labels)
    {
        if (cells != Cells)
            throw new DataFormatException(path, $"line {line}: {cells} cells, expected {Cells} (label and 784 pixels)");
        if (row[0] > 9)
            throw new DataFormatException(path, $"line {line}: label {row[0]} is outside 0..9");
        labels.Add((byte)row[0]);
        for (var c = 1; c < Cells; c++)
        {
            if (row[c] > 255)
                throw new DataFormatException(path, $"line {line}: pixel{c} = {row[c]} is outside 0..255");
            pixels.WriteByte((byte)row[c]);
        }
    }

    private static void ReadHeader(Stream stream, string path)
    {
        var header = new List<byte>();
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n')
            header.Add((byte)b);
        var text = System.Text.Encoding.ASCII.GetString(header.ToArray()).TrimEnd('\r').TrimStart('\uFEFF');
        if (b < 0 && text.Length == 0)
            throw new DataFormatException(path, "is empty; it should hold the Kaggle Fashion-MNIST CSV (a header 'label,pixel1,...,pixel784' and one image per line)");
        var names = text.Split(',');
        if (names.Length != Cells || names[0] != "label" || names[1] != "pixel1" || names[^1] != "pixel784")
            throw new DataFormatException(path, "line 1: header is not 'label,pixel1,...,pixel784' (the Kaggle Fashion-MNIST CSV form)");
    }
}
