using System.Globalization;

namespace Parley.Protocol;

/// <summary>
/// The XEP-0082 DateTime profile (CCYY-MM-DDThh:mm:ss[.sss]TZD): every stamp, time and date bound Parley writes or reads.
/// </summary>
public static class XmppDateTime
{
    // Seconds always, fractions optional (up to the 7 digits a DateTimeOffset holds), a zone always (Z or ±hh:mm).
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
    ];

    /// <summary>
    /// In UTC to the millisecond, always three digits: 2024-05-01T12:00:00.000Z. Milliseconds because that is what
    /// storage keeps: a stamp a client reads (an archived or room message, an item, the server's time) and sends back as
    /// a bound (MAM start/end, MUC since) then selects exactly the messages it named; the fixed width keeps stamps
    /// sortable as text.
    /// </summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// In UTC to the whole second: 2024-05-01T12:00:00Z. Only for the delay stamps that have always been written so
    /// (offline delivery, last presence, moderated retractions): their form on the wire stays as clients know it.
    /// </summary>
    public static string FormatSeconds(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads a DateTime with or without fractional seconds, in UTC (Z) or with an offset; false for anything else.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
}
