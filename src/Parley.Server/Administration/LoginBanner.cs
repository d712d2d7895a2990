using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The login banner (Cisco's "custom login banner"): text an administrator sets, sent to XMPP clients at login as the
/// message of the day, later shown on the console's sign-in page. <c>parley banner</c> and XEP-0133's
/// message-of-the-day commands edit the same text. Read at every login, so a change counts on a running node at once.
/// </summary>
public sealed class LoginBanner(IParleyStorage storage, AdminActor? actor = null)
{
    /// <summary>Characters a banner may have: a screenful, well inside any stanza limit.</summary>
    public const int MaxLength = 4000;

    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public LoginBanner By(AdminActor by) => new(storage, by);

    /// <returns>The banner, or null when none is set.</returns>
    public Task<string?> GetAsync(CancellationToken cancellationToken = default) => storage.Settings.GetAsync(ServerSettings.Banner, cancellationToken);

    /// <summary>Why <paramref name="text"/> cannot be the banner, or null.</summary>
    public static string? Problem(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "The banner is empty; to have none, clear it.";
        }
        if (text.Length > MaxLength)
        {
            return $"The banner has {text.Length} characters; at most {MaxLength} are allowed.";
        }
        foreach (var c in text)
        {
            // XML cannot carry other control characters, and a terminal would act on them.
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            {
                return $"The banner contains the control character U+{(int)c:X4}.";
            }
        }
        return null;
    }

    /// <summary>Sets the banner; line ends become "\n" and trailing white space goes.</summary>
    public async Task<AdministrationResult> SetAsync(string text, CancellationToken cancellationToken = default)
    {
        if (Problem(text) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        text = text.ReplaceLineEndings("\n").TrimEnd();
        await storage.Settings.SetAsync(ServerSettings.Banner, text, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.BannerSet, ServerSettings.Banner, text, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <returns><see cref="AdministrationOutcome.NotFound"/> when no banner was set.</returns>
    public async Task<AdministrationResult> ClearAsync(CancellationToken cancellationToken = default)
    {
        if (!await storage.Settings.DeleteAsync(ServerSettings.Banner, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.BannerClear, ServerSettings.Banner, "", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }
}
