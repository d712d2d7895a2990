using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The application services, composed: in the node through its services (<see cref="AddToNode"/>), in a process
/// without a node — the CLI — over storage and options alone (<see cref="WithoutNode"/>).
/// </summary>
public sealed class AdministrationServices(
    AccountService accounts, RoomAdministration rooms, RosterAdministration rosters, AdminRoles admins, LoginBanner banner, SettingsAdministration settings)
{
    public AccountService Accounts { get; } = accounts;
    public RoomAdministration Rooms { get; } = rooms;
    public RosterAdministration Rosters { get; } = rosters;
    public AdminRoles Admins { get; } = admins;
    public LoginBanner Banner { get; } = banner;
    public SettingsAdministration Settings { get; } = settings;

    /// <summary>The same services, recording each change in the audit trail as done by <paramref name="actor"/>.</summary>
    public AdministrationServices By(AdminActor actor) =>
        new(Accounts.By(actor), Rooms.By(actor), Rosters.By(actor), Admins.By(actor), Banner.By(actor), Settings.By(actor));

    /// <summary>
    /// For a process beside the node: what a running node must hear is left to it as node notices, and every change
    /// is audited as the CLI's user's.
    /// </summary>
    public static AdministrationServices WithoutNode(IParleyStorage storage, ParleyOptions options)
    {
        var events = new NodeNoticeWriter(storage.Notices);
        return new AdministrationServices(new AccountService(storage, options, events), new RoomAdministration(storage, options, events),
            new RosterAdministration(storage, events), new AdminRoles(storage, options), new LoginBanner(storage),
            new SettingsAdministration(storage, options, events)).By(AdminActor.Cli);
    }

    /// <summary>The node's own: the services raise the module registry's events directly.</summary>
    public static void AddToNode(IServiceCollection services)
    {
        services.AddSingleton<RunningNodeEvents>();
        services.AddSingleton<IAdministrationEvents>(sp => sp.GetRequiredService<RunningNodeEvents>());
        services.AddSingleton<AccountService>();
        services.AddSingleton<RoomAdministration>();
        services.AddSingleton<RosterAdministration>();
        services.AddSingleton<AdminRoles>();
        services.AddSingleton<LoginBanner>();
        services.AddSingleton<RuntimeSettings>();
        services.AddSingleton(sp => new SettingsAdministration(
            sp.GetRequiredService<IParleyStorage>(), sp.GetRequiredService<ParleyOptions>(), sp.GetRequiredService<IAdministrationEvents>()));
        // Parley.Cluster replaces it on a clustered node with one that asks the other nodes over the bus.
        services.AddSingleton<IOtherNodesSessions, NoOtherNodes>();
        services.AddSingleton<LocalSessions>();
        services.AddSingleton(sp => new SessionAdministration(
            sp.GetRequiredService<LocalSessions>(), sp.GetRequiredService<IOtherNodesSessions>(), sp.GetRequiredService<IParleyStorage>()));
        // Parley.Cluster replaces it on a clustered node with one that asks the node running the room over the bus.
        services.AddSingleton<IRoomsElsewhere, NoRoomsElsewhere>();
        services.AddSingleton<RoomOccupants>();
        // The topology comes from Parley.Cluster on a clustered node, registered after this.
        services.AddSingleton(sp => new ClusterAdministration(sp.GetRequiredService<IParleyStorage>(), sp.GetService<IClusterTopologyAccess>()));
        services.AddSingleton<LocalNodeReport>();
        // Parley.Cluster replaces it on a clustered node with one that asks every node over the bus.
        services.AddSingleton<IClusterNodeReports, ThisNodeReports>();
        services.AddSingleton<ApiTokens>();
        services.AddSingleton<AdministrationServices>();
        services.AddSingleton<AuditRetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRetentionService>());
    }
}
