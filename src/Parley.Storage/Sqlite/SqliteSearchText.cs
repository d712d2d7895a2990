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
    /// <summary>The indexed text of a body in an archive: its words, each behind the archive's key; "" for no words.</summary>
    public static string Of(string archive, string body)
    {
        if (body.Length == 0)
        {
            return "";
        }

        var key = ArchiveText.KeyOf(archive);
        var text = new StringBuilder(body.Length + 16);
        foreach (var (start, length) in ArchiveText.Words(body))
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

        var key = ArchiveText.KeyOf(archive);
        var match = new StringBuilder();
        foreach (var word in words)
        {
            if (match.Length > 0)
            {
                match.Append(" AND ");
            }
            match.Append('"');
            var first = true;
            foreach (var (start, length) in ArchiveText.Words(word))
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
}
