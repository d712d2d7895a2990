using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Storage.Sqlite;

/// <summary>
/// What goes into the FTS5 table archive_search, and the MATCH expression that searches it. Every word is stored with its
/// archive's key in front ("3fa4c2d1meeting"), so one archive's words are a range of their own in the index: a word's
/// beginning ("meet"*) then expands over that archive's words only, not over every user's, which keeps a search among
/// millions of messages as cheap as one among a user's own. FTS5's unicode61 tokenizer then folds case and accents, on
/// the stored text and on the search alike.
/// </summary>
internal static class SqliteSearchText
{
    private const int KeyBytes = 4;

    /// <summary>The indexed text of a body in an archive: its words, each behind the archive's key; "" for no words.</summary>
    public static string Of(string archive, string body)
    {
        if (body.Length == 0)
        {
            return "";
        }

        var key = KeyOf(archive);
        var text = new StringBuilder(body.Length + 16);
        foreach (var (start, length) in Words(body))
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }
            text.Append(key).Append(body, start, length);
        }

        return text.ToString();
    }

    /// <summary>
    /// The words of a search (<see cref="ArchiveText.SearchWords"/>) as an FTS5 expression that finds messages with all
    /// of them: each word a quoted phrase of its parts (so nothing in it is an operator), matched as a whole word or,
    /// from three letters on, also as a word's beginning. Null when the text has no words.
    /// </summary>
    public static string? MatchOf(string archive, string search)
    {
        var words = ArchiveText.SearchWords(search);
        if (words.Count == 0)
        {
            return null;
        }

        var key = KeyOf(archive);
        var match = new StringBuilder();
        foreach (var word in words)
        {
            if (match.Length > 0)
            {
                match.Append(" AND ");
            }
            match.Append('"');
            var first = true;
            foreach (var (start, length) in Words(word))
            {
                match.Append(first ? "" : " ").Append(key).Append(word, start, length);
                first = false;
            }
            match.Append('"');
            if (ArchiveText.LetterCount(word) >= 3)
            {
                match.Append('*');
            }
        }

        return match.ToString();
    }

    /// <summary>Eight hex digits from the archive's JID; two archives that share a key are told apart by the archive column.</summary>
    private static string KeyOf(string archive)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(archive), hash);
        return Convert.ToHexStringLower(hash[..KeyBytes]);
    }

    /// <summary>
    /// Runs of the characters unicode61 keeps in a token (letters, digits, private-use characters, and the combining
    /// marks it strips as accents); everything else separates words.
    /// </summary>
    private static List<(int Start, int Length)> Words(string text)
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
}
