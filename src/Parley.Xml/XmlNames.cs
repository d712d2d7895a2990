using System.Buffers;
using System.Text;

namespace Parley.Xml;

/// <summary>XML 1.0 (fifth edition) name rules, plus the Namespaces-in-XML QName rule (at most one colon, not at an end).</summary>
internal static class XmlNames
{
    private const string AsciiNameStart = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:";
    private const string AsciiNameOnly = "-.0123456789";

    /// <summary>Bytes that may appear inside a name: ASCII name characters and every non-ASCII byte (checked after decoding).</summary>
    internal static readonly SearchValues<byte> NameBytes = SearchValues.Create(BuildNameBytes());

    private static readonly SearchValues<char> AsciiNameStartChars = SearchValues.Create(AsciiNameStart);
    private static readonly SearchValues<char> AsciiNameChars = SearchValues.Create(AsciiNameStart + AsciiNameOnly);

    internal static bool IsAsciiNameStart(byte b) => AsciiNameStartChars.Contains((char)b);

    internal static bool IsNameStartByte(byte b) => b >= 0x80 || IsAsciiNameStart(b);

    internal static bool IsNameStartChar(int c) =>
        c < 0x80 ? AsciiNameStartChars.Contains((char)c) :
        c is (>= 0xC0 and <= 0xD6) or (>= 0xD8 and <= 0xF6) or (>= 0xF8 and <= 0x2FF) or (>= 0x370 and <= 0x37D)
            or (>= 0x37F and <= 0x1FFF) or (>= 0x200C and <= 0x200D) or (>= 0x2070 and <= 0x218F)
            or (>= 0x2C00 and <= 0x2FEF) or (>= 0x3001 and <= 0xD7FF) or (>= 0xF900 and <= 0xFDCF)
            or (>= 0xFDF0 and <= 0xFFFD) or (>= 0x10000 and <= 0xEFFFF);

    internal static bool IsNameChar(int c) =>
        IsNameStartChar(c) || (c < 0x80 ? AsciiNameChars.Contains((char)c) : c is 0xB7 or (>= 0x300 and <= 0x36F) or (>= 0x203F and <= 0x2040));

    /// <summary>True for a name with at most one colon, which is neither first nor last.</summary>
    internal static bool IsQualifiedName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        if (!name.ContainsAnyExcept(AsciiNameChars))
        {
            // The usual case: all ASCII, checked with two vectorized searches.
            int firstColon = name.IndexOf(':');
            return AsciiNameStartChars.Contains(name[0]) && (firstColon < 0
                || (firstColon > 0 && firstColon < name.Length - 1 && name[(firstColon + 1)..].IndexOf(':') < 0 && !char.IsAsciiDigit(name[firstColon + 1]) && name[firstColon + 1] is not '-' and not '.'));
        }
        int colon = -1;
        int index = 0;
        foreach (Rune rune in name.EnumerateRunes())
        {
            if (rune == Rune.ReplacementChar && name[index] != '\uFFFD')
            {
                return false; // a lone surrogate
            }
            if (index == 0 ? !IsNameStartChar(rune.Value) : !IsNameChar(rune.Value))
            {
                return false;
            }
            if (rune.Value == ':')
            {
                if (colon >= 0)
                {
                    return false;
                }
                colon = index;
            }
            index += rune.Utf16SequenceLength;
        }
        return colon != 0 && colon != name.Length - 1;
    }

    /// <summary>A name without a colon (element local names).</summary>
    internal static bool IsLocalName(ReadOnlySpan<char> name) => !name.Contains(':') && IsQualifiedName(name);

    private static byte[] BuildNameBytes()
    {
        var bytes = new List<byte>();
        foreach (char c in AsciiNameStart + AsciiNameOnly)
        {
            bytes.Add((byte)c);
        }
        for (int b = 0x80; b <= 0xFF; b++)
        {
            bytes.Add((byte)b);
        }
        return [.. bytes];
    }
}
