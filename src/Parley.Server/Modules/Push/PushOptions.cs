using Parley.Server.ModuleContract;
namespace Parley.Server.Modules.Push;

/// <summary>Parley:Push, the push notification module's options (XEP-0357).</summary>
public sealed class PushOptions : IModuleOptions
{
    /// <summary>Put the message body into push notifications (XEP-0357); off, because it leaves the company through the push service.</summary>
    public bool IncludeBody { get; set; }

    public IEnumerable<string> Validate(string section) => [];
}
