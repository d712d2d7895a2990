using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Parley.Xml;

/// <summary>
/// Writes text and attribute values as UTF-8 XML. Characters XML 1.0 cannot carry at all (C0 controls other than
/// tab/LF/CR, U+FFFE, U+FFFF, lone surrogates) are written as U+FFFD, so the output is always well-formed.
/// CR, and in attribute values also tab and LF, are written as character references so a parser reads back the same value.
/// </summary>
public static class XmlEscaping
{
    private const string ForbiddenChars =
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\uFFFE\uFFFF";

    private static readonly SearchValues<char> TextSpecials = SearchValues.Create("&<>\r" + ForbiddenChars);
    private static readonly SearchValues<char> AttributeSpecials = SearchValues.Create("&<>\"'\t\n\r" + ForbiddenChars);
    private static readonly SearchValues<byte> ReadTextSpecials = SearchValues.Create("&<>\r"u8);

    public static void WriteText(IBufferWriter<byte> output, ReadOnlySpan<char> text) => WriteEscaped(output, text, TextSpecials);

    public static void WriteAttributeValue(IBufferWriter<byte> output, ReadOnlySpan<char> value) => WriteEscaped(output, value, AttributeSpecials);

    /// <summary>
    /// Writes text as the reader keeps it (<see cref="TextNode"/>): UTF-8 that holds no character XML forbids, so
    /// only the markup characters and CR need escaping.
    /// </summary>
    internal static void WriteReadText(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        while (true)
        {
            int special = utf8.IndexOfAny(ReadTextSpecials);
            WriteAscii(output, special < 0 ? utf8 : utf8[..special]);
            if (special < 0)
            {
                return;
            }
            WriteAscii(output, Replacement((char)utf8[special]));
            utf8 = utf8[(special + 1)..];
        }
    }

    public static string EscapeText(string text) => Escape(text, TextSpecials);

    public static string EscapeAttributeValue(string value) => Escape(value, AttributeSpecials);

    /// <summary>Writes characters as UTF-8 without escaping (names, and markup the caller knows is safe).</summary>
    public static void WriteRaw(IBufferWriter<byte> output, ReadOnlySpan<char> chars)
    {
        while (!chars.IsEmpty)
        {
            // At least 4 bytes so one scalar always fits; at most a few KiB per request to the writer.
            Span<byte> destination = output.GetSpan(Math.Max(4, Math.Min(chars.Length, 2048) * 3));
            Utf8.FromUtf16(chars, destination, out int read, out int written, replaceInvalidSequences: true, isFinalBlock: true);
            output.Advance(written);
            chars = chars[read..];
        }
    }

    internal static void WriteAscii(IBufferWriter<byte> output, ReadOnlySpan<byte> ascii)
    {
        Span<byte> destination = output.GetSpan(ascii.Length);
        ascii.CopyTo(destination);
        output.Advance(ascii.Length);
    }

    private static string Escape(string value, SearchValues<char> specials)
    {
        if (!value.AsSpan().ContainsAny(specials))
        {
            return value;
        }
        var buffer = new ArrayBufferWriter<byte>(value.Length + 16);
        WriteEscaped(buffer, value, specials);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteEscaped(IBufferWriter<byte> output, ReadOnlySpan<char> text, SearchValues<char> specials)
    {
        while (true)
        {
            int special = text.IndexOfAny(specials);
            if (special < 0)
            {
                WriteRaw(output, text);
                return;
            }
            WriteRaw(output, text[..special]);
            WriteAscii(output, Replacement(text[special]));
            text = text[(special + 1)..];
        }
    }

    private static ReadOnlySpan<byte> Replacement(char c) => c switch
    {
        '&' => "&amp;"u8,
        '<' => "&lt;"u8,
        '>' => "&gt;"u8,
        '"' => "&quot;"u8,
        '\'' => "&apos;"u8,
        '\t' => "&#x9;"u8,
        '\n' => "&#xA;"u8,
        '\r' => "&#xD;"u8,
        _ => "\uFFFD"u8,
    };
}
