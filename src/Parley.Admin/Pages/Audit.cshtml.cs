using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>The audit trail, newest first, searched by actor, action and date, and exported as CSV (RFC 4180).</summary>
public sealed class AuditModel(IParleyStorage storage) : ConsolePage
{
    private const int MaxRecords = 10_000;

    [BindProperty(SupportsGet = true)]
    public string? Actor { get; set; }

    [BindProperty(SupportsGet = true, Name = "action")]
    public string? ActionName { get; set; }

    [BindProperty(SupportsGet = true)]
    public DateOnly? Since { get; set; }

    public IReadOnlyList<AuditRecord> Records { get; private set; } = [];

    public string CsvLink => QueryHelpers.AddQueryString(AdminConsole.Path + "/audit", new Dictionary<string, string?>
    {
        ["handler"] = "csv",
        ["actor"] = Actor,
        ["action"] = ActionName,
        ["since"] = Since?.ToString("yyyy-MM-dd"),
    }.Where(p => !string.IsNullOrEmpty(p.Value)));

    public async Task OnGetAsync(CancellationToken cancellationToken) => Records = await SearchAsync(cancellationToken);

    public async Task<FileContentResult> OnGetCsvAsync(CancellationToken cancellationToken)
    {
        var csv = new StringBuilder("at,actor,origin,action,subject,details\r\n");
        foreach (var record in (await SearchAsync(cancellationToken)).Reverse())
        {
            csv.AppendJoin(',', [record.At.ToString("O"), Cell(record.Actor), Cell(record.Origin), Cell(record.Action), Cell(record.Subject), Cell(record.Details)]).Append("\r\n");
        }
        return File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", "parley-audit.csv");
    }

    private async Task<IReadOnlyList<AuditRecord>> SearchAsync(CancellationToken cancellationToken)
    {
        var since = Since is { } day ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : (DateTimeOffset?)null;
        var actor = string.IsNullOrWhiteSpace(Actor) ? null : Actor.Trim();
        var records = await storage.Audit.ListAsync(since, actor, MaxRecords, cancellationToken);
        var action = ActionName?.Trim() ?? "";
        return [.. records.Where(r => r.Action.Contains(action, StringComparison.OrdinalIgnoreCase)).Reverse()];
    }

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
