using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>
/// The audit trail, newest first, a page at a time, searched by actor, action and date in the database, and exported
/// as CSV (RFC 4180).
/// </summary>
public sealed class AuditModel(IParleyStorage storage) : ConsolePage
{
    public const int PageSize = 100;

    /// <summary>The most records one CSV export holds: the newest that match.</summary>
    private const int MaxCsvRecords = 10_000;

    [BindProperty(SupportsGet = true)]
    public string? Actor { get; set; }

    [BindProperty(SupportsGet = true, Name = "action")]
    public string? ActionName { get; set; }

    [BindProperty(SupportsGet = true)]
    public DateOnly? Since { get; set; }

    /// <summary>Only records with an id below this one: the page after the one that ended with it.</summary>
    [BindProperty(SupportsGet = true)]
    public long? Before { get; set; }

    public IReadOnlyList<AuditRecord> Records { get; private set; } = [];

    /// <summary>The link to the next, older page; null on the last one.</summary>
    public string? OlderLink { get; private set; }

    public string CsvLink => Link(("handler", "csv"));

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        // One more than a page says whether an older page exists.
        var records = await storage.Audit.ListNewestFirstAsync(Search(), Before, PageSize + 1, cancellationToken);
        Records = [.. records.Take(PageSize)];
        if (records.Count > PageSize)
        {
            OlderLink = Link(("before", Records[^1].Id.ToString(CultureInfo.InvariantCulture)));
        }
    }

    public async Task<FileContentResult> OnGetCsvAsync(CancellationToken cancellationToken)
    {
        var csv = new StringBuilder("at,actor,origin,action,subject,details\r\n");
        foreach (var record in (await storage.Audit.ListNewestFirstAsync(Search(), null, MaxCsvRecords, cancellationToken)).Reverse())
        {
            csv.AppendJoin(',', [record.At.ToString("O"), Cell(record.Actor), Cell(record.Origin), Cell(record.Action), Cell(record.Subject), Cell(record.Details)]).Append("\r\n");
        }
        return File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", "parley-audit.csv");
    }

    private AuditSearch Search() => new(
        Since is { } day ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
        string.IsNullOrWhiteSpace(Actor) ? null : Actor.Trim(),
        string.IsNullOrWhiteSpace(ActionName) ? null : ActionName.Trim());

    /// <summary>This page with the current search and <paramref name="extra"/>.</summary>
    private string Link((string Name, string Value) extra) => QueryHelpers.AddQueryString(AdminConsole.Path + "/audit", new Dictionary<string, string?>
    {
        ["actor"] = Actor,
        ["action"] = ActionName,
        ["since"] = Since?.ToString("yyyy-MM-dd"),
        [extra.Name] = extra.Value,
    }.Where(p => !string.IsNullOrEmpty(p.Value)));

    /// <summary>
    /// A CSV cell, quoted when it must be; a leading =, +, - or @ gets an apostrophe so that a spreadsheet shows a
    /// subject such as "=HYPERLINK(...)" as text instead of running it.
    /// </summary>
    private static string Cell(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@')
        {
            value = "'" + value;
        }
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
