using Parley.Server.ModuleContract;
namespace Parley.Server.Modules.Registration;

/// <summary>Parley:Registration, the in-band registration module's options (XEP-0077).</summary>
public sealed class RegistrationOptions : IModuleOptions
{
    /// <summary>
    /// Let anyone create an account in-band (XEP-0077) and let users cancel their own. Off by default:
    /// enterprises provision accounts (CLI, directory).
    /// </summary>
    public bool AllowRegistration { get; set; }

    /// <summary>Let users change their password in-band (XEP-0077 §3.3).</summary>
    public bool AllowPasswordChange { get; set; } = true;

    /// <summary>Accounts one IP address may create in-band per hour; 0 = unlimited.</summary>
    public int MaxPerIpPerHour { get; set; } = 5;

    public IEnumerable<string> Validate(string section)
    {
        if (MaxPerIpPerHour < 0)
        {
            yield return $"{section}:MaxPerIpPerHour: must be 0 (unlimited) or more.";
        }
    }
}
