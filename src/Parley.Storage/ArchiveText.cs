using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Xml;

namespace Parley.Storage;

/// <summary>
/// Full-text search (XEP-0431) as every archive store answers it: what of a message is searched, and how a user's
/// search text becomes words. Shared so that SQLite and PostgreSQL find the same messages for the same text.
/// </summary>
internal static class ArchiveText
{
    private const int KeyBytes = 4;

    /// <summary>Longer search text is not a person looking for a message.</summary>
    public const int MaxSearchLength = 1000;

    /// <summary>
    /// The searchable text of a stored stanza: its &lt;body/&gt; elements (every language), one per line; "" when it has
    /// none or is not XML (stores accept any text, and a message that cannot be read is simply not found by search).
    /// </summary>
    public static string BodyOf(string xml)
    {
        // Chat states, receipts and markers have no body: most of them are not parsed at all.
        if (!xml.Contains("body", StringComparison.Ordinal))
        {
            return "";
        }

        Element message;
        try
        {
            message = ElementParser.Parse(xml, XmlNamespaces.Client);
        }
        catch (XmlStreamException)
        {
            return "";
        }
        return BodyOf(message);
    }

    /// <summary>The searchable text of a message: its &lt;body/&gt; elements (every language), one per line.</summary>
    public static string BodyOf(Element message)
    {

        string? single = null;
        StringBuilder? several = null;
        foreach (var body in message.Children("body", XmlNamespaces.Client))
        {
            var text = body.Text;
            if (text.Length == 0)
            {
                continue;
            }
            if (single is null)
            {
                single = text;
            }
            else
            {
                (several ??= new StringBuilder(single)).Append('\n').Append(text);
            }
        }

        return several?.ToString() ?? single ?? "";
    }

    /// <summary>
    /// The words of a search: the text split at white space, each piece kept only if it has a letter or digit. Every
    /// other character is part of a word, never an operator: quotes, '*', '-', AND, NEAR are searched for as written
    /// (a store's tokenizer then drops the punctuation), so no input is a syntax error.
    /// </summary>
    public static List<string> SearchWords(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || char.IsWhiteSpace(text[i]))
            {
                if (start >= 0 && HasLetterOrDigit(text.AsSpan(start, i - start)))
                {
                    words.Add(text[start..i]);
                }
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
        }

        return words;
    }

    /// <summary>How many letters and digits a word has: short words match whole words only, longer ones also as a word's beginning.</summary>
    public static int LetterCount(string word)
    {
        var count = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Eight hex digits from the archive's JID, put in front of each of its indexed words so one archive's words are a
    /// range of their own in the index; two archives that share a key are told apart by the archive column.
    /// </summary>
    public static string KeyOf(string archive)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(archive), hash);
        return Convert.ToHexStringLower(hash[..KeyBytes]);
    }

    /// <summary>
    /// Runs of the characters a word is made of, those SQLite's unicode61 tokenizer keeps in a token (letters, digits,
    /// private-use characters, and the combining marks it strips as accents); everything else separates words. Both
    /// stores split text with it, so both find the same messages.
    /// </summary>
    public static List<(int Start, int Length)> Words(string text)
    {
        var words = new List<(int, int)>();
        var start = -1;
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsWordCharacter(rune))
            {
                if (start < 0)
                {
                    start = index;
                }
            }
            else if (start >= 0)
            {
                words.Add((start, index - start));
                start = -1;
            }
            index += rune.Utf16SequenceLength;
        }

        if (start >= 0)
        {
            words.Add((start, index - start));
        }

        return words;
    }

    private static bool IsWordCharacter(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => true,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => true,
        UnicodeCategory.PrivateUse => true,
        _ => false,
    };

    private static bool HasLetterOrDigit(ReadOnlySpan<char> text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                return true;
            }
        }

        return false;
    }
}
