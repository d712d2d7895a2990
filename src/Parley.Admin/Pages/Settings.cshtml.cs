using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Admin.Pages;

/// <summary>What an operator changes on running nodes: the login banner, the runtime settings, who holds the admin role.</summary>
public sealed class SettingsModel : ConsolePage
{
    public string? Banner { get; private set; }
    public IReadOnlyList<(string Jid, bool Configured)> Admins { get; private set; } = [];
    public IReadOnlyList<(RuntimeSetting Setting, string Value, bool Stored)> RuntimeSettings { get; private set; } = [];
    public string Domain => Options.EffectiveDomains[0];

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    public async Task OnPostBannerAsync(string? banner, CancellationToken cancellationToken)
    {
        Report(await Administration.Banner.SetAsync(banner ?? "", cancellationToken), "The banner was saved.", "");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostClearBannerAsync(CancellationToken cancellationToken)
    {
        Report(await Administration.Banner.ClearAsync(cancellationToken), "The banner was cleared.", "No banner was set.");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostSettingAsync(string? name, string? value, CancellationToken cancellationToken)
    {
        Report(await Administration.Settings.SetAsync(name ?? "", value ?? "", cancellationToken), $"{name} is {value?.Trim()} on every node.", $"There is no setting '{name}'.");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostResetSettingAsync(string? name, CancellationToken cancellationToken)
    {
        Report(await Administration.Settings.ResetAsync(name ?? "", cancellationToken), $"{name} is as configured again.", $"{name} was not set.");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostGrantAsync(string? jid, CancellationToken cancellationToken)
    {
        if (Jid.TryParse(jid?.Trim(), out var account))
        {
            Report(await Administration.Admins.GrantAsync(account, cancellationToken), $"{account} is an administrator.", "", $"{account} is an administrator already.");
        }
        else
        {
            Problem = $"'{jid}' is not a JID.";
        }
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostRevokeAsync(string? jid, CancellationToken cancellationToken)
    {
        if (Jid.TryParse(jid, out var account))
        {
            Report(await Administration.Admins.RevokeAsync(account, cancellationToken), $"{account} is no longer an administrator.", $"{account} was not granted the role.");
        }
        else
        {
            Problem = $"'{jid}' is not a JID.";
        }
        await LoadAsync(cancellationToken);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Banner ??= await Administration.Banner.GetAsync(cancellationToken);
        Admins = await Administration.Admins.ListAsync(cancellationToken);
        RuntimeSettings = await Administration.Settings.ListAsync(cancellationToken);
    }
}
