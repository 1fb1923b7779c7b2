using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header (per tensor dtype, shape and
/// data_offsets into the data section; string metadata under "__metadata__"), padded with spaces to 8 bytes, then
/// the raw little-endian tensor data. Only F32 tensors are written or read.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeader = 100 << 20;

    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    public static void Write(Stream stream, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in metadata)
                json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + 4L * t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += 4L * t.Data.Length;
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' ');
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
        stream.Write(length);
        header.Position = 0;
        header.CopyTo(stream);
        // safetensors data is little-endian, as is every platform .NET 10 runs on: the floats are written as they lie.
        foreach (var t in tensors)
            stream.Write(MemoryMarshal.AsBytes(t.Data.Span));
    }

    public static (IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new FashionGpuException($"checkpoint {path} does not exist");
        }
        FashionGpuException Corrupt(string why) => new($"checkpoint {path} is not a valid safetensors file: {why}");
        if (bytes.Length < 8)
            throw Corrupt("shorter than its 8-byte header length");
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (headerLength <= 0 || headerLength > MaxHeader || 8 + headerLength > bytes.Length || bytes[8] != (byte)'{')
            throw Corrupt(bytes.Length > 8 && bytes[8] != (byte)'{'
                ? "it does not start with a safetensors header (an 8-byte length, then JSON); it is not a checkpoint"
                : $"its header says {headerLength} bytes but the file has {bytes.Length} (truncated?)");
        var dataStart = 8 + (int)headerLength;
        var dataLength = bytes.Length - dataStart;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        }
        catch (JsonException e)
        {
            throw Corrupt($"header is not JSON ({e.Message})");
        }
        using (document)
        {
            var metadata = new Dictionary<string, string>();
            var tensors = new List<NamedTensor>();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                        throw Corrupt("its __metadata__ is not an object of strings");
                    foreach (var m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw Corrupt($"its metadata \"{m.Name}\" is not a string");
                    continue;
                }
                try
                {
                    var dtype = entry.Value.GetProperty("dtype").GetString();
                    if (dtype != "F32")
                        throw Corrupt($"tensor {entry.Name} is {dtype}; only F32 is supported");
                    var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                    var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (shape.Any(d => d < 0))
                        throw Corrupt($"tensor {entry.Name} has a negative dimension in its shape [{string.Join(",", shape)}]");
                    var count = shape.Aggregate(1L, (a, b) => a * b);
                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                        throw Corrupt($"tensor {entry.Name} has invalid data offsets");
                    if (offsets[1] - offsets[0] != 4 * count)
                        throw Corrupt($"tensor {entry.Name} has shape [{string.Join(",", shape)}] ({4 * count} bytes) but {offsets[1] - offsets[0]} bytes of data");
                    if (offsets[1] > dataLength)
                        throw Corrupt($"tensor {entry.Name} ends at byte {offsets[1]} of data but the file holds {dataLength} (truncated?)");
                    var data = new float[count];
                    MemoryMarshal.Cast<byte, float>(bytes.AsSpan(dataStart + (int)offsets[0], (int)(4 * count))).CopyTo(data);
                    tensors.Add(new NamedTensor(entry.Name, shape, data));
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw Corrupt($"tensor {entry.Name} has a malformed header entry");
                }
            }
            return (tensors, metadata);
        }
    }
}
