using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;
using Parley.Server.Sessions;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The administrative events inside the node: the module registry's events, raised the same way whether the action
/// ran in this process (in-band registration, later the REST API) or in another one that left a node notice (the CLI).
/// </summary>
public sealed partial class RunningNodeEvents(ModuleRegistry modules, SessionRegistry sessions, RuntimeSettings settings, ILogger<RunningNodeEvents> logger)
    : IAdministrationEvents
{
    /// <summary>Turns the notices of the administration's actions in other processes into the same events.</summary>
    public void HearNotices()
    {
        modules.OnNodeNotice(NodeNoticeKinds.AccountRemoved, AccountRemovedElsewhereAsync);
        modules.OnNodeNotice(NodeNoticeKinds.AccountDisabled, AccountDisabledElsewhereAsync);
        modules.OnNodeNotice(NodeNoticeKinds.RoomChanged, subject => Raise(modules.RoomChanged, subject));
        modules.OnNodeNotice(NodeNoticeKinds.RosterChanged, subject => Raise(modules.RosterImported, subject));
        modules.OnNodeNotice(NodeNoticeKinds.SettingChanged, _ => new ValueTask(settings.ReloadAsync()));
    }

    public ValueTask AccountRemovingAsync(Jid account, CancellationToken cancellationToken) => modules.AccountRemoving.RaiseAsync(account);

    public async ValueTask AccountRemovedAsync(Jid account, Action? beforeSessionsEnd, CancellationToken cancellationToken) =>
        await AccountGoneAsync(account, beforeSessionsEnd).ConfigureAwait(false);

    public ValueTask AccountDisabledAsync(Jid account, CancellationToken cancellationToken)
    {
        var ended = sessions.SessionsOf(account.Bare);
        foreach (var session in ended)
        {
            session.EndForDisabledAccount();
        }
        LogDisabledByAdministrator(logger, account.Bare.ToString(), ended.Length == 1 ? "1 session" : $"{ended.Length} sessions");
        return ValueTask.CompletedTask;
    }

    public ValueTask RoomChangedAsync(Jid room, CancellationToken cancellationToken) => modules.RoomChanged.RaiseAsync(room);

    public ValueTask RosterImportedAsync(Jid user, CancellationToken cancellationToken) => modules.RosterImported.RaiseAsync(user);

    public ValueTask SettingChangedAsync(string name, CancellationToken cancellationToken) => new(settings.ReloadAsync(cancellationToken));

    /// <summary>Modules forget the account before its clients hear that it is gone (one may look at a room at once). Returns how many sessions ended.</summary>
    private async ValueTask<int> AccountGoneAsync(Jid account, Action? beforeSessionsEnd)
    {
        await modules.AccountRemoved.RaiseAsync(account).ConfigureAwait(false);
        beforeSessionsEnd?.Invoke();
        var ended = sessions.SessionsOf(account);
        foreach (var session in ended)
        {
            session.EndForRemovedAccount();
        }
        return ended.Length;
    }

    /// <summary>
    /// `parley user remove` deleted the account: it is gone as if it had been removed here. The account-removing
    /// event cannot run; its data is gone already and the handlers would write some back.
    /// </summary>
    private async ValueTask AccountRemovedElsewhereAsync(string subject)
    {
        if (!Jid.TryParse(subject, out var account) || account.Local is null)
        {
            LogBadAccountNotice(logger, subject);
            return;
        }
        var sessionCount = await AccountGoneAsync(account.Bare, beforeSessionsEnd: null).ConfigureAwait(false);
        LogRemovedByAdministrator(logger, account.ToString(), sessionCount == 1 ? "1 session" : $"{sessionCount} sessions");
    }

    private ValueTask AccountDisabledElsewhereAsync(string subject)
    {
        if (!Jid.TryParse(subject, out var account) || account.Local is null)
        {
            LogBadAccountNotice(logger, subject);
            return ValueTask.CompletedTask;
        }
        return AccountDisabledAsync(account, CancellationToken.None);
    }

    private static ValueTask Raise(ModuleEvent<Jid> moduleEvent, string subject) =>
        Jid.TryParse(subject, out var jid) ? moduleEvent.RaiseAsync(jid.Bare) : ValueTask.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {Account} was removed by the administrator; {Sessions} ended")]
    private static partial void LogRemovedByAdministrator(ILogger logger, string account, string sessions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {Account} was disabled by the administrator; {Sessions} ended")]
    private static partial void LogDisabledByAdministrator(ILogger logger, string account, string sessions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored an account notice about '{Subject}', which is not an account JID")]
    private static partial void LogBadAccountNotice(ILogger logger, string subject);
}
