using Microsoft.AspNetCore.Mvc;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>The accounts, searched by a part of their JID or display name, and a form that adds one.</summary>
public sealed class UsersModel(IParleyStorage storage, SessionAdministration sessions) : ConsolePage
{
    /// <summary>Rows a page shows; a search narrows them.</summary>
    private const int MaxShown = 200;

    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Query { get; set; }

    public IReadOnlyList<AccountInfo> Users { get; private set; } = [];
    public int Total { get; private set; }
    public bool Truncated { get; private set; }
    public string Domain => Options.EffectiveDomains[0];

    /// <summary>How many sessions each listed account has on every node, by bare JID.</summary>
    private Dictionary<string, int> _sessionCounts = [];

    public int SessionCount(string jid) => _sessionCounts.GetValueOrDefault(jid);

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    public async Task OnPostAddAsync(string? jid, string? password, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(jid?.Trim(), out var account))
        {
            Problem = $"'{jid}' is not a JID such as alice@{Domain}.";
        }
        else
        {
            Report(await Administration.Accounts.CreateAsync(account, password ?? "", cancellationToken),
                $"{account} was added.", "", $"{account} exists already.");
        }
        await LoadAsync(cancellationToken);
    }

    /// <summary>The accounts whose JID or display name contains the search text (plain text: nothing in it is a pattern).</summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var query = Query?.Trim() ?? "";
        Total = await storage.Accounts.CountAsync(null, cancellationToken);
        var found = query.Length == 0
            ? await storage.Accounts.ListAsync(null, 0, MaxShown + 1, cancellationToken)
            : await storage.Accounts.SearchAsync(query, 0, MaxShown + 1, cancellationToken);
        Truncated = found.Count > MaxShown;
        Users = found.Take(MaxShown).ToList();
        _sessionCounts = (await sessions.ListAsync(cancellationToken: cancellationToken)).CountBy(s => Jid.Parse(s.Jid).Bare.ToString()).ToDictionary();
    }
}
