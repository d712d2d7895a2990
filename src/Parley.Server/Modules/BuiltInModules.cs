using Microsoft.Extensions.DependencyInjection;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.AdHoc;
using Parley.Server.Modules.Blocking;
using Parley.Server.Modules.Bookmarks;
using Parley.Server.Modules.Carbons;
using Parley.Server.Modules.ClientState;
using Parley.Server.Modules.Disco;
using Parley.Server.Modules.LastActivity;
using Parley.Server.Modules.Ldap;
using Parley.Server.Modules.LegacySession;
using Parley.Server.Modules.Mam;
using Parley.Server.Modules.MessageOfTheDay;
using Parley.Server.Modules.Muc;
using Parley.Server.Modules.Offline;
using Parley.Server.Modules.Pep;
using Parley.Server.Modules.Ping;
using Parley.Server.Modules.Presence;
using Parley.Server.Modules.PrivateStorage;
using Parley.Server.Modules.Push;
using Parley.Server.Modules.Registration;
using Parley.Server.Modules.Roster;
using Parley.Server.Modules.ServiceAdministration;
using Parley.Server.Modules.StreamManagement;
using Parley.Server.Modules.Time;
using Parley.Server.Modules.VCard;
using Parley.Server.Modules.Version;

namespace Parley.Server.Modules;

/// <summary>
/// The modules a node knows, one line each: a new feature adds its folder and its line here. Each
/// runs unless Parley:Modules:&lt;Name&gt;:Enabled is false; the order is the order they register in.
/// </summary>
public static class BuiltInModules
{
    public static IReadOnlyList<ModuleDefinition> All { get; } =
    [
        ModuleDefinition.For<DiscoModule>("Disco"),
        ModuleDefinition.For<PingModule>("Ping"),
        ModuleDefinition.For<VersionModule>("Version").WithOptions<ServerInfoOptions>("ServerInfo"),
        ModuleDefinition.For<TimeModule>("Time"),
        ModuleDefinition.For<LegacySessionModule>("LegacySession"),
        ModuleDefinition.For<StreamManagementModule>("StreamManagement"),
        ModuleDefinition.For<ClientStateModule>("ClientState"),
        ModuleDefinition.For<RosterModule>("Roster").WithServices(services => services
            .AddSingleton<RosterService>()),
        ModuleDefinition.For<PresenceModule>("Presence").DependsOn("Roster").WithServices(services => services
            .AddSingleton<SubscriptionHandler>()
            .AddSingleton<ILastPresence>(sp => sp.GetRequiredService<PresenceModule>())),
        ModuleDefinition.For<PushModule>("Push").WithOptions<PushOptions>("Push"),
        ModuleDefinition.For<OfflineModule>("Offline"),
        ModuleDefinition.For<BlockingModule>("Blocking").DependsOn("Roster"),
        ModuleDefinition.For<MamModule>("Mam").DependsOn("Roster").WithOptions<ArchiveOptions>("Archive").WithServices(services => services
            .AddSingleton<ArchiveRetentionService>()
            .AddHostedService(sp => sp.GetRequiredService<ArchiveRetentionService>())),
        ModuleDefinition.For<CarbonsModule>("Carbons"),
        ModuleDefinition.For<LastActivityModule>("LastActivity").DependsOn("Roster", "Presence"),
        ModuleDefinition.For<VCardModule>("VCard").WithServices(services => services
            .AddSingleton<IVCards>(sp => sp.GetRequiredService<VCardModule>())),
        ModuleDefinition.For<PrivateStorageModule>("PrivateStorage").WithServices(services => services
            .AddSingleton<IPrivateXml>(sp => sp.GetRequiredService<PrivateStorageModule>())),
        ModuleDefinition.For<RegistrationModule>("Registration").WithOptions<RegistrationOptions>("Registration"),
        ModuleDefinition.For<MucModule>("Muc").WithOptions<MucOptions>("Muc").WithServices(services => services
            .AddSingleton<MucService>()),
        ModuleDefinition.For<PepModule>("Pep").DependsOn("Roster").WithServices(services => services
            .AddSingleton<PepNotifier>()
            .AddSingleton<IPersonalEventing>(sp => sp.GetRequiredService<PepModule>())),
        ModuleDefinition.For<BookmarksModule>("Bookmarks").DependsOn("PrivateStorage", "Pep"),
        ModuleDefinition.For<AdHocModule>("AdHoc").WithServices(services => services
            .AddSingleton<AdHocCommands>()),
        ModuleDefinition.For<ServiceAdministrationModule>("ServiceAdministration").DependsOn("AdHoc"),
        ModuleDefinition.For<MessageOfTheDayModule>("MessageOfTheDay"),
        ModuleDefinition.For<DirectoryModule>("Directory").WithOptions<DirectoryModuleOptions>("Directory").WithServices(DirectoryModule.AddServices),
    ];
}
