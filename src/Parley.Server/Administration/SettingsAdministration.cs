using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>Changes the runtime settings (<see cref="RuntimeSettings"/>): stored, audited, and heard by every node.</summary>
public sealed class SettingsAdministration(IParleyStorage storage, ParleyOptions options, IAdministrationEvents events, AdminActor? actor = null)
{
    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public SettingsAdministration By(AdminActor by) => new(storage, options, events, by);

    public Task<IReadOnlyList<(RuntimeSetting Setting, string Value, bool Stored)>> ListAsync(CancellationToken cancellationToken = default) =>
        RuntimeSettings.ReadAsync(storage, options, cancellationToken);

    /// <returns><see cref="AdministrationOutcome.NotFound"/> for a name that is no setting; refused for a value it cannot take.</returns>
    public async Task<AdministrationResult> SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        if (RuntimeSettings.Find(name) is not { } setting)
        {
            return AdministrationResult.NotFound;
        }
        value = value.Trim();
        if (setting.Problem(value) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        await storage.Settings.SetAsync(name, value, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.SettingSet, name, value, cancellationToken).ConfigureAwait(false);
        await events.SettingChangedAsync(name, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <summary>Goes back to the configured value.</summary>
    /// <returns><see cref="AdministrationOutcome.NotFound"/> for a name that is no setting or that was not set.</returns>
    public async Task<AdministrationResult> ResetAsync(string name, CancellationToken cancellationToken = default)
    {
        if (RuntimeSettings.Find(name) is not { } setting || !await storage.Settings.DeleteAsync(name, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.SettingReset, name, $"back to the configured {setting.Configured(options)}", cancellationToken).ConfigureAwait(false);
        await events.SettingChangedAsync(name, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }
}
