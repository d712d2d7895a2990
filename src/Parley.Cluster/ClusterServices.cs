using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Parley.Storage.Postgres;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Cluster.Relay;
using Parley.Cluster.Resumption;
using Parley.Cluster.Rooms;
using Parley.Server.Hosting;
using Parley.Server.Routing;
using Parley.Server.Sessions;

namespace Parley.Cluster;

/// <summary>Makes a node a member of the cluster when Parley:Cluster:Bus is set; without it the node stays a single node.</summary>
public static class ClusterServices
{
    /// <summary>Database connections a node uses at most for membership and the topology, besides its storage's pool (docs/clustering.md).</summary>
    public const int MembershipPoolSize = 10;

    public static void AddToNode(IServiceCollection services, ParleyOptions options)
    {
        if (options.Cluster.Bus is null)
        {
            return;
        }
        services.AddSingleton(_ =>
        {
            // A pool of its own, and small: the lease must be renewed while sign-ins keep every storage connection busy.
            var settings = PostgresConnectionSettings.Parse(options.Storage.ConnectionString!);
            settings.MaxPoolSize = MembershipPoolSize;
            // A renewal fails within half a lease, so that fencing comes first: opening a connection to a host that does
            // not answer would otherwise wait Npgsql's 15 s.
            settings.Timeout = Math.Max(1, options.Cluster.LeaseMilliseconds / 2000);
            return NpgsqlDataSource.Create(settings);
        });
        // The console's and the REST API's way to the topology the CLI changes (ClusterAdministration).
        services.AddSingleton<Parley.Server.Administration.IClusterTopologyAccess, Topology.ClusterTopologyAccess>();
        services.AddSingleton(new ClusterView(options.Cluster.Node!));
        // Membership first: a node refused its name must not open the bus either.
        services.AddSingleton<ClusterMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterMembership>());
        services.AddSingleton<ClusterBus>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterBus>());
        // Before those that use it: connected before they start, closed after they stop.
        services.AddSingleton<AdminBus>();
        services.AddHostedService(sp => sp.GetRequiredService<AdminBus>());
        services.AddSingleton<BusNodeReports>();
        services.Replace(ServiceDescriptor.Singleton<Parley.Server.Administration.IClusterNodeReports>(sp => sp.GetRequiredService<BusNodeReports>()));
        services.AddHostedService(sp => sp.GetRequiredService<BusNodeReports>());
        services.AddSingleton<BusSessions>();
        services.Replace(ServiceDescriptor.Singleton<Parley.Server.Administration.IOtherNodesSessions>(sp => sp.GetRequiredService<BusSessions>()));
        services.AddHostedService(sp => sp.GetRequiredService<BusSessions>());
        services.AddSingleton<IRemoteRoute, BusRoute>();
        services.AddSingleton<RoomPlacement>();
        services.AddSingleton<BusRoomOccupants>();
        services.Replace(ServiceDescriptor.Singleton<Parley.Server.Administration.IRoomsElsewhere>(sp => sp.GetRequiredService<BusRoomOccupants>()));
        services.AddHostedService(sp => sp.GetRequiredService<BusRoomOccupants>());
        services.AddSingleton<IRemoteRoute, RoomRoute>();
        services.AddHostedService<RoomHandOff>();
        // After the bus: stopped before it, so that what the shutdown ended reaches the peer first.
        services.AddSingleton<SessionReplicator>();
        services.Replace(ServiceDescriptor.Singleton<ISessionReplication>(sp => sp.GetRequiredService<SessionReplicator>()));
        services.AddHostedService(sp => sp.GetRequiredService<SessionReplicator>());
        services.AddSingleton<PeerReplicas>();
        services.AddHostedService(sp => sp.GetRequiredService<PeerReplicas>());
        services.AddSingleton<SessionRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRelay>());
        services.AddSingleton<SendAwayPacing>();
        services.Replace(ServiceDescriptor.Singleton<ISessionPlacement, ClusterPlacement>());
    }
}
