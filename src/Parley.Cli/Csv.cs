using System.Runtime.CompilerServices;
using System.Text;

namespace Parley.Cli;

/// <summary>One record of a CSV file: its fields, or why it could not be split, and the line it starts on.</summary>
internal sealed record CsvRecord(int Line, IReadOnlyList<string> Fields, string? Error);

/// <summary>
/// CSV as RFC 4180 and spreadsheets write it: fields separated by commas; a field in double quotes may hold commas,
/// line breaks and doubled quotes (""). Unquoted fields are trimmed, so "a, b" reads as "a" and "b"; quoted fields are
/// kept exactly, which is how a value with leading or trailing spaces survives.
/// </summary>
internal static class Csv
{
    // A quote that is never closed would otherwise make the rest of the file one record.
    private const int MaxRecordLength = 64 * 1024;

    /// <summary>
    /// The non-blank records of a UTF-8 file (with or without a byte order mark), each with the number of the line it
    /// starts on.
    /// </summary>
    public static async IAsyncEnumerable<CsvRecord> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var firstLine = lineNumber;
            var record = line;
            var fields = new List<string>();
            string? error;
            while (!TrySplit(record, fields, out error) && error is null)
            {
                // The record ends inside a quoted field, so the line break belongs to the field. Read on to the line
                // that closes it: an odd number of quotes since then, as doubled quotes inside a field come in pairs.
                var continued = new StringBuilder(record);
                var quotes = 0;
                do
                {
                    if (continued.Length > MaxRecordLength)
                    {
                        error = $"the quoted field opened on this line is still open after {MaxRecordLength / 1024} KiB; a closing quote is missing.";
                        break;
                    }

                    if (await reader.ReadLineAsync(cancellationToken) is not { } nextLine)
                    {
                        error = "the quoted field opened on this line is never closed.";
                        break;
                    }

                    lineNumber++;
                    continued.Append('\n').Append(nextLine);
                    quotes += nextLine.AsSpan().Count('"');
                }
                while (quotes % 2 == 0);

                if (error is not null)
                {
                    break;
                }

                record = continued.ToString();
            }

            yield return error is null ? new CsvRecord(firstLine, fields, null) : new CsvRecord(firstLine, [], error);
        }
    }

    /// <summary>Splits one record into <paramref name="fields"/>.</summary>
    /// <returns>
    /// True when the record is complete; false with an error when it is malformed, and false without one when it ends
    /// inside a quoted field (the record continues on the next line).
    /// </returns>
    public static bool TrySplit(string record, List<string> fields, out string? error)
    {
        fields.Clear();
        error = null;
        var quoted = new StringBuilder();
        var position = 0;
        while (true)
        {
            var fieldStart = position;
            position = SkipBlanks(record, position);
            if (position < record.Length && record[position] == '"')
            {
                quoted.Clear();
                position++;
                while (true)
                {
                    if (position == record.Length)
                    {
                        return false;
                    }

                    var c = record[position++];
                    if (c == '"')
                    {
                        if (position < record.Length && record[position] == '"')
                        {
                            quoted.Append('"');
                            position++;
                            continue;
                        }

                        break;
                    }

                    quoted.Append(c);
                }

                fields.Add(quoted.ToString());
                position = SkipBlanks(record, position);
                if (position == record.Length)
                {
                    return true;
                }

                if (record[position] != ',')
                {
                    error = $"field {fields.Count} has text after its closing quote.";
                    return false;
                }

                position++;
            }
            else
            {
                var comma = record.IndexOf(',', fieldStart);
                var end = comma < 0 ? record.Length : comma;
                var field = record.AsSpan(fieldStart, end - fieldStart);
                if (field.Contains('"'))
                {
                    error = $"field {fields.Count + 1} has a quote inside; put the whole field in double quotes and double the quote (\"\").";
                    return false;
                }

                fields.Add(field.Trim(" \t").ToString());
                if (comma < 0)
                {
                    return true;
                }

                position = comma + 1;
            }
        }
    }

    /// <summary>Writes <paramref name="value"/> as one field, in quotes when it would otherwise not read back the same.</summary>
    public static void WriteField(TextWriter writer, string value)
    {
        var needsQuotes = value.Length > 0
            && (value.AsSpan().IndexOfAny(",\"\r\n") >= 0 || value[0] is ' ' or '\t' || value[^1] is ' ' or '\t');
        if (!needsQuotes)
        {
            writer.Write(value);
            return;
        }

        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    private static int SkipBlanks(string record, int position)
    {
        while (position < record.Length && record[position] is ' ' or '\t')
        {
            position++;
        }

        return position;
    }
}
