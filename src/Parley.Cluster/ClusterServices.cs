using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Cluster.Relay;
using Parley.Server.Hosting;
using Parley.Server.Routing;
using Parley.Server.Sessions;

namespace Parley.Cluster;

/// <summary>Makes a node a member of the cluster when Parley:Cluster:Bus is set; without it the node stays a single node.</summary>
public static class ClusterServices
{
    public static void AddToNode(IServiceCollection services, ParleyOptions options)
    {
        if (options.Cluster.Bus is null)
        {
            return;
        }
        services.AddSingleton(_ => NpgsqlDataSource.Create(options.Storage.ConnectionString!));
        services.AddSingleton(new ClusterView(options.Cluster.Node!));
        // Membership first: a node refused its name must not open the bus either.
        services.AddSingleton<ClusterMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterMembership>());
        services.AddSingleton<ClusterBus>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterBus>());
        services.AddSingleton<IRemoteRoute, BusRoute>();
        services.AddSingleton<SessionRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRelay>());
        services.AddSingleton<SendAwayPacing>();
        services.Replace(ServiceDescriptor.Singleton<ISessionPlacement, ClusterPlacement>());
    }
}
