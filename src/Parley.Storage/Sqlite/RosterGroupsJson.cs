using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Parley.Storage.Sqlite;

/// <summary>
/// A roster item's groups as one JSON array in a text column: an item is always read and written whole, the order the
/// client gave survives, and any string (newlines, quotes, any script) is safe in it.
/// </summary>
internal static class RosterGroupsJson
{
    // The relaxed encoder leaves non-ASCII letters readable in the sqlite3 shell; the text never reaches an HTML page.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(IReadOnlyList<string> groups)
    {
        if (groups.Count == 0)
        {
            return "[]";
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var group in groups)
            {
                writer.WriteStringValue(group);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<string> Read(string json)
    {
        if (json == "[]")
        {
            return [];
        }

        var groups = new List<string>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                groups.Add(reader.GetString()!);
            }
        }

        return groups;
    }
}
