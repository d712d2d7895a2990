using Microsoft.AspNetCore.Mvc;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>One account: its sessions on every node (each can be ended), display name, password reset, disable or enable, removal.</summary>
public sealed class UserModel(IParleyStorage storage, SessionAdministration sessions) : ConsolePage
{

    [BindProperty(SupportsGet = true, Name = "jid")]
    public string Account { get; set; } = "";

    public AccountInfo? Info { get; private set; }
    public IReadOnlyList<SessionInfo> Sessions { get; private set; } = [];

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    public async Task OnPostPasswordAsync(string? password, CancellationToken cancellationToken)
    {
        if (Parse() is { } account)
        {
            Report(await Administration.Accounts.ChangePasswordAsync(account, password ?? "", cancellationToken),
                "The password was changed.", $"{account} has no password on this node (it signs in elsewhere).");
        }
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostDisplayNameAsync(string? displayName, CancellationToken cancellationToken)
    {
        if (Parse() is { } account)
        {
            Report(await Administration.Accounts.SetDisplayNameAsync(account, displayName, cancellationToken),
                string.IsNullOrWhiteSpace(displayName) ? "The display name was cleared." : "The display name was changed.", $"There is no account {account}.");
        }
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostDisableAsync(bool disabled, CancellationToken cancellationToken)
    {
        if (Parse() is { } account)
        {
            Report(await Administration.Accounts.SetDisabledAsync(account, disabled, cancellationToken),
                disabled ? $"{account} is disabled; its sessions ended." : $"{account} is enabled.", $"There is no account {account}.");
        }
        await LoadAsync(cancellationToken);
    }

    public async Task<IActionResult> OnPostRemoveAsync(CancellationToken cancellationToken)
    {
        if (Parse() is { } account && await Administration.Accounts.RemoveAsync(account, cancellationToken: cancellationToken))
        {
            return Redirect(AdminConsole.Path + "/users");
        }
        Problem = $"There is no account {Account}.";
        await LoadAsync(cancellationToken);
        return Page();
    }

    public async Task OnPostEndSessionAsync(string? session, CancellationToken cancellationToken)
    {
        // Only a session of this account: the form's hidden field could name anyone's.
        if (Parse() is { } account && Jid.TryParse(session, out var full) && full.Resource is not null && full.Bare.Equals(account)
            && await sessions.By(Administrator).EndAsync(full, cancellationToken))
        {
            Notice = $"The session {full} was ended.";
        }
        else
        {
            Problem = $"There is no session {session} of {Account} on this node.";
        }
        await LoadAsync(cancellationToken);
    }

    private Jid? Parse()
    {
        if (Jid.TryParse(Account, out var account) && account.Local is not null)
        {
            return account.Bare;
        }
        Problem = $"'{Account}' is not an account's JID.";
        return null;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(Account, out var account) || account.Local is null)
        {
            return;
        }
        var jid = account.Bare.ToString();
        Account = jid;
        Info = await storage.Accounts.GetAsync(jid, cancellationToken);
        Sessions = await sessions.ListAsync(account.Bare, cancellationToken);
    }
}
