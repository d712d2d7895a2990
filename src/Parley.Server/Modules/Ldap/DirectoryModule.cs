using Microsoft.Extensions.DependencyInjection;
using Parley.Ldap;
using Parley.Server.Auth;
using Parley.Server.ModuleContract;
using Parley.Storage;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// An LDAP directory (Active Directory, OpenLDAP) as the source of people: sign-in with the directory password,
/// accounts, vCards and shared roster groups kept by the directory sync, contact search (XEP-0055) at search.DOMAIN
/// (over the local accounts while no directory is configured).
/// </summary>
public sealed class DirectoryModule(ContactSearchService search) : IModule
{
    public void Register(ModuleRegistry registry) => registry.AddService(ContactSearchService.Subdomain, "Contact search", search.HandleAsync);

    /// <summary>The module's services; the directory's sign-in replaces the local accounts' only when a directory is configured.</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<DirectoryOptions>(sp => sp.GetRequiredService<DirectoryModuleOptions>());
        services.AddSingleton<LdapDirectory>();
        services.AddSingleton<LocalAccountBackend>();
        services.AddSingleton<IAuthenticationBackend>(sp => sp.GetRequiredService<DirectoryOptions>().IsConfigured
            ? new DirectoryAuthenticationBackend(
                sp.GetRequiredService<LocalAccountBackend>(),
                sp.GetRequiredService<LdapDirectory>(),
                sp.GetRequiredService<IParleyStorage>(),
                sp.GetRequiredService<DirectoryOptions>(),
                sp.GetRequiredService<DirectorySyncService>())
            : sp.GetRequiredService<LocalAccountBackend>());
        services.AddSingleton<ContactSearchService>();
        services.AddSingleton<DirectorySyncService>();
        services.AddHostedService(sp => sp.GetRequiredService<DirectorySyncService>());
    }
}
