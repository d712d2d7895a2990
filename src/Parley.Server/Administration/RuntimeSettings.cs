using System.Globalization;
using Parley.Server.Hosting;
using Parley.Server.Modules.Mam;
using Parley.Server.Modules.Registration;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>A setting an operator changes while nodes run: its name, what it means, and its value in the configuration.</summary>
public sealed record RuntimeSetting(string Name, string Description, RuntimeSettingKind Kind, Func<ParleyOptions, string> Configured)
{
    /// <summary>Why <paramref name="value"/> cannot be this setting's value, or null.</summary>
    public string? Problem(string value) => Kind switch
    {
        RuntimeSettingKind.Count when !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _) =>
            $"{Name} takes a whole number, 0 or more; '{value}' is not one.",
        RuntimeSettingKind.Switch when value is not ("on" or "off") => $"{Name} is on or off; '{value}' is neither.",
        _ => null,
    };
}

public enum RuntimeSettingKind
{
    /// <summary>A whole number, 0 or more (0 meaning no limit or forever, as the description says).</summary>
    Count,

    /// <summary>"on" or "off".</summary>
    Switch,
}

/// <summary>What the runtime settings are now: the configured values, overridden by those stored in the database.</summary>
public sealed record RuntimeValues(int MaxContacts, int ArchiveRetentionDays, bool RegistrationOpen)
{
    public static RuntimeValues From(Func<string, string> value) => new(
        int.Parse(value(ServerSettings.MaxContacts), CultureInfo.InvariantCulture),
        int.Parse(value(ServerSettings.ArchiveRetentionDays), CultureInfo.InvariantCulture),
        value(ServerSettings.Registration) == "on");
}

/// <summary>
/// The runtime settings (the console's Settings page, <c>parley settings</c>): each starts as the configuration says,
/// and a value stored in the database overrides it on every node. The node reads them from memory — the stream
/// features need them at once — and loads them again when one changes, here or, through a node notice, elsewhere.
/// </summary>
public sealed class RuntimeSettings(IParleyStorage storage, ParleyOptions options)
{
    public static readonly IReadOnlyList<RuntimeSetting> All =
    [
        new(ServerSettings.MaxContacts, "The most contacts a user's roster may hold; 0 for no limit.", RuntimeSettingKind.Count,
            o => o.Limits.MaxRosterItems.ToString(CultureInfo.InvariantCulture)),
        new(ServerSettings.ArchiveRetentionDays, "Days archived messages are kept; 0 keeps them forever.", RuntimeSettingKind.Count,
            o => o.Module<ArchiveOptions>().RetentionDays.ToString(CultureInfo.InvariantCulture)),
        new(ServerSettings.Registration, "Whether anyone may create an account from an XMPP client (XEP-0077).", RuntimeSettingKind.Switch,
            o => o.Module<RegistrationOptions>().AllowRegistration ? "on" : "off"),
    ];

    private RuntimeValues _current = RuntimeValues.From(name => Find(name)!.Configured(options));

    /// <summary>The values in effect on this node.</summary>
    public RuntimeValues Current => Volatile.Read(ref _current);

    public static RuntimeSetting? Find(string name) => All.FirstOrDefault(setting => setting.Name == name);

    /// <summary>Each setting with its value in effect and whether that comes from the database (or the configuration).</summary>
    public static async Task<IReadOnlyList<(RuntimeSetting Setting, string Value, bool Stored)>> ReadAsync(
        IParleyStorage storage, ParleyOptions options, CancellationToken cancellationToken = default)
    {
        var values = new List<(RuntimeSetting, string, bool)>(All.Count);
        foreach (var setting in All)
        {
            var stored = await storage.Settings.GetAsync(setting.Name, cancellationToken).ConfigureAwait(false);
            // A value a newer or older Parley stored that this one cannot read counts as not set.
            values.Add(stored is not null && setting.Problem(stored) is null ? (setting, stored, true) : (setting, setting.Configured(options), false));
        }
        return values;
    }

    /// <summary>Reads the settings from the database again.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        var values = (await ReadAsync(storage, options, cancellationToken).ConfigureAwait(false)).ToDictionary(v => v.Setting.Name, v => v.Value);
        Volatile.Write(ref _current, RuntimeValues.From(name => values[name]));
    }
}
