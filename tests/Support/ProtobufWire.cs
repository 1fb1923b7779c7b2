namespace FashionGpu.Tests.Support;

/// <summary>
/// A protobuf message read field by field from its wire bytes, with no schema and no protobuf library: what a proto2
/// reader such as OpenCV's sees, independently of the Google.Protobuf classes that wrote it.
/// </summary>
public sealed class ProtobufWire
{
    public sealed record Field(int Number, int WireType, ulong Varint, byte[] Bytes);

    public IReadOnlyList<Field> Fields { get; }

    public ProtobufWire(ReadOnlySpan<byte> bytes)
    {
        var fields = new List<Field>();
        var at = 0;
        while (at < bytes.Length)
        {
            var key = Varint(bytes, ref at);
            var (number, wireType) = ((int)(key >> 3), (int)(key & 7));
            switch (wireType)
            {
                case 0:
                    fields.Add(new Field(number, 0, Varint(bytes, ref at), []));
                    break;
                case 1:
                    fields.Add(new Field(number, 1, 0, bytes.Slice(at, 8).ToArray()));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(bytes, ref at);
                    fields.Add(new Field(number, 2, 0, bytes.Slice(at, length).ToArray()));
                    at += length;
                    break;
                case 5:
                    fields.Add(new Field(number, 5, 0, bytes.Slice(at, 4).ToArray()));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wireType} of field {number} at byte {at}");
            }
        }
        Fields = fields;
    }

    public IEnumerable<Field> All(int number) => Fields.Where(f => f.Number == number);

    public IEnumerable<ProtobufWire> Messages(int number) => All(number).Select(f => new ProtobufWire(f.Bytes));

    public string? String(int number) => All(number).Select(f => System.Text.Encoding.UTF8.GetString(f.Bytes)).LastOrDefault();

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
    }
}
