using System.CommandLine;
using Parley.Admin;
using Parley.Cluster;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Server.Hosting;

namespace Parley.Cli;

/// <summary><c>parley serve</c>: runs a node until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("serve", "Run a node until Ctrl-C or SIGTERM.");
        var configuration = new CommonOptions(command, clusterFlags: true);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            ParleyApp app;
            try
            {
                app = await ParleyHost.BuildAsync(options, configureServices: services =>
                {
                    AdminConsole.AddToNode(services);
                    ClusterServices.AddToNode(services, options);
                }, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is not (OperationCanceledException or ConfigurationException))
            {
                throw new CliException(ExitCodes.Failed, $"cannot start the node with storage {StorageAccess.Describe(options)}: {e.Message}");
            }

            await using (app)
            {
                try
                {
                    await app.RunAsync(cancellationToken);
                }
                catch (PortInUseException e)
                {
                    throw new CliException(ExitCodes.Failed, e.Message);
                }
                catch (ClusterJoinException e)
                {
                    throw new CliException(ExitCodes.Failed, $"cannot join the cluster: {e.Message}");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new CliException(ExitCodes.Failed, $"the node stopped: {e.Message}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
