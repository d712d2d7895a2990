using Parley.Server.ModuleContract;
namespace Parley.Server.Modules.Mam;

/// <summary>Parley:Archive, the message archive module's options (XEP-0313).</summary>
public sealed class ArchiveOptions : IModuleOptions
{
    /// <summary>Which messages a user's archive keeps until the user sets preferences: "always", "never" or "roster" (contacts only).</summary>
    public string DefaultMode { get; set; } = "always";

    /// <summary>Archived messages older than this many days are deleted (checked at start and hourly); 0 keeps them forever.</summary>
    public int RetentionDays { get; set; }

    /// <summary>The most messages one query returns; a client's larger &lt;max/&gt; is lowered to this.</summary>
    public int MaxPageSize { get; set; } = 250;

    public IEnumerable<string> Validate(string section)
    {
        if (DefaultMode is not ("always" or "never" or "roster"))
        {
            yield return $"{section}:DefaultMode: '{DefaultMode}' is not 'always', 'never' or 'roster'.";
        }
        if (RetentionDays < 0)
        {
            yield return $"{section}:RetentionDays: must be 0 (keep forever) or more.";
        }
        if (MaxPageSize < 1)
        {
            yield return $"{section}:MaxPageSize: must be at least 1.";
        }
    }
}
