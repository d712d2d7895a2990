using System.Globalization;
using System.Text;

namespace Parley.Storage.Postgres;

/// <summary>
/// The tsvector of archive_messages.search and the tsquery that searches it (migration 10). Words are split and folded
/// here, not by a PostgreSQL text search configuration: a configuration's parser and lower-casing follow the database's
/// locale (under C, "MÜNCHEN" stays "mÜnchen" and emoji are not words), and stemming or stop words would tie search to
/// one language. So the lexemes are made the way SQLite's unicode61 makes its tokens (<see cref="ArchiveText.Words"/>,
/// case folded, accents removed) and handed to PostgreSQL as they are — what the 'simple' configuration does for
/// ASCII, for every script and under any locale. As on SQLite, each word has its archive's key in front, so a word's
/// beginning ('meet':*) expands over one archive's words in the GIN index, not over every user's.
/// </summary>
internal static class PostgresSearchText
{
    // PostgreSQL refuses a lexeme of 2 KiB or more; such a "word" is not something anyone searches for.
    private const int MaxLexemeBytes = 2046;

    // Positions past this are stored as it (PostgreSQL's limit); only phrase matches that far into a body can suffer.
    private const int MaxPosition = 16383;

    // A tsvector is at most 1 MiB; words past this budget stay unindexed rather than failing the append.
    private const int MaxVectorChars = 512 * 1024;

    /// <summary>The tsvector, in PostgreSQL's text form, of a body in an archive; "" (no lexemes) for no words.</summary>
    public static string VectorOf(string archive, string body)
    {
        if (body.Length == 0)
        {
            return "";
        }

        var key = ArchiveText.KeyOf(archive);
        var vector = new StringBuilder(body.Length + 32);
        var position = 0;
        foreach (var (start, length) in ArchiveText.Words(body))
        {
            var lexeme = LexemeOf(key, body.AsSpan(start, length));
            if (string.IsNullOrEmpty(lexeme))
            {
                continue;
            }

            position = Math.Min(position + 1, MaxPosition);
            if (vector.Length + lexeme.Length > MaxVectorChars)
            {
                break;
            }

            // Lexemes hold only word characters and hex digits (no quote, backslash or space): quoting them is enough.
            vector.Append(vector.Length == 0 ? "'" : " '").Append(lexeme).Append("':").Append(position);
        }

        return vector.ToString();
    }

    /// <summary>
    /// The words of a search (<see cref="ArchiveText.SearchWords"/>) as a tsquery that finds messages with all of them:
    /// each word a phrase of its parts (so nothing in it is an operator), whose last part, from three letters on, also
    /// matches as a word's beginning. Null when nothing in the text can be found.
    /// </summary>
    public static string? QueryOf(string archive, string search)
    {
        var words = ArchiveText.SearchWords(search);
        var key = ArchiveText.KeyOf(archive);
        var query = new StringBuilder();
        foreach (var word in words)
        {
            var phrase = new StringBuilder();
            foreach (var (start, length) in ArchiveText.Words(word))
            {
                var lexeme = LexemeOf(key, word.AsSpan(start, length));
                if (lexeme is null)
                {
                    // Too long to have been indexed: no message is found by it.
                    return null;
                }

                if (lexeme.Length == 0)
                {
                    continue;
                }

                phrase.Append(phrase.Length == 0 ? "'" : " <-> '").Append(lexeme).Append('\'');
            }

            if (phrase.Length == 0)
            {
                continue;
            }

            if (ArchiveText.LetterCount(word) >= 3)
            {
                phrase.Append(":*");
            }

            query.Append(query.Length == 0 ? "(" : " & (").Append(phrase).Append(')');
        }

        return query.Length == 0 ? null : query.ToString();
    }

    /// <summary>
    /// The word lower-cased, without accents, behind the key; "" when nothing but accents is left, null when it is too
    /// long to index.
    /// </summary>
    private static string? LexemeOf(string key, ReadOnlySpan<char> word)
    {
        if (Ascii.IsValid(word))
        {
            // Most words: ASCII has no accents and is its own normal form, so the lexeme is the key and the word in lower
            // case, made in one string (this runs for every word of every archived message).
            var length = key.Length + word.Length;
            if (length > MaxLexemeBytes)
            {
                return null;
            }
            Span<char> lowered = length <= 256 ? stackalloc char[length] : new char[length];
            key.CopyTo(lowered);
            Ascii.ToLower(word, lowered[key.Length..], out _);
            return new string(lowered);
        }

        var decomposed = word.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var folded = new StringBuilder(key, key.Length + decomposed.Length);
        Span<char> utf16 = stackalloc char[2];
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                // StringBuilder has no Append(Rune): Append(object) would box each one and make a string of it.
                folded.Append(utf16[..rune.EncodeToUtf16(utf16)]);
            }
        }

        if (folded.Length == key.Length)
        {
            return "";
        }

        var lexeme = folded.ToString().Normalize(NormalizationForm.FormC);
        return Encoding.UTF8.GetByteCount(lexeme) > MaxLexemeBytes ? null : lexeme;
    }
}
