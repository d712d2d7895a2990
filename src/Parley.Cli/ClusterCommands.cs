using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Parley.Cluster.Topology;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Hosting;

namespace Parley.Cli;

/// <summary>
/// <c>parley cluster status|assign|balance|failover|fallback|group create</c>: the cluster's topology in the shared PostgreSQL database,
/// through <see cref="ClusterTopology"/>. They need no bus; running nodes see a change at their next heartbeat.
/// </summary>
internal static class ClusterCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var command = new Command("cluster", "Show and change the cluster: nodes, redundancy groups, each user's home node.");
        command.Subcommands.Add(CreateStatus(console));
        command.Subcommands.Add(CreateAssign(console));
        command.Subcommands.Add(CreateBalance(console));
        command.Subcommands.Add(CreateFailover(console, "failover", "Let a node's group peer serve its users while the node keeps running (maintenance).", failedOver: true));
        command.Subcommands.Add(CreateFailover(console, "fallback", "Let a node serve its own users again after a failover by hand.", failedOver: false));
        var group = new Command("group", "Presence redundancy groups.");
        group.Subcommands.Add(CreateGroupCreate(console));
        command.Subcommands.Add(group);
        return command;
    }

    private static Command CreateStatus(CliConsole console)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"nodes\": [...], \"groups\": [...]}." };
        var command = new Command("status", "Every node's state, lease age, group, users assigned and served, sessions; the groups.") { json };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var status = await WithTopologyAsync(configuration.Load(parseResult), (topology, token) => topology.StatusAsync(token), cancellationToken);
            if (parseResult.GetValue(json))
            {
                console.Output.WriteLine(JsonSerializer.Serialize(status, Indented));
                return ExitCodes.Ok;
            }
            if (status.Nodes.Count == 0)
            {
                console.Output.WriteLine("no node has joined the cluster (a node joins when it starts with --bus and --node)");
            }
            foreach (var node in status.Nodes)
            {
                var lease = node.LeaseAgeSeconds is { } age ? string.Create(CultureInfo.InvariantCulture, $"lease renewed {age:F1} s ago") : "never ran";
                var group = node.Group is null ? "no group" : $"group {node.Group} ({node.Mode}{(node.TakesUsers ? "" : ", standby")})";
                console.Output.WriteLine($"{node.Name}\t{node.State}\t{node.Address}\t{group}\t{lease}\t{node.UsersAssigned} users assigned\t{node.UsersServed} served\t{node.Sessions} sessions" +
                    (node.Reason is null ? "" : $"\t{node.Reason}"));
            }
            foreach (var group in status.Groups)
            {
                console.Output.WriteLine($"group {group.Name}\t{group.Mode}\t{string.Join(",", group.Nodes)}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateAssign(CliConsole console)
    {
        var jidArgument = new Argument<string>("JID") { Description = "The account's bare JID." };
        var node = new Option<string>("--node") { Description = "The node that becomes its home.", HelpName = "NAME", Required = true };
        var command = new Command("assign", "Make a node the home of an account.") { jidArgument, node };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var jid = parseResult.GetRequiredValue(jidArgument);
            var name = parseResult.GetRequiredValue(node);
            if (!Jid.TryParse(jid, out var account) || account.Local is null || !account.IsBare)
            {
                throw new CliException(ExitCodes.Usage, $"'{jid}' is not an account JID: write it as user@domain, without a resource.");
            }
            await WithClusterAsync(configuration.Load(parseResult), (cluster, token) => cluster.AssignAsync(account, name, token), cancellationToken);
            console.Output.WriteLine($"{jid} is now homed on node {name}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateBalance(CliConsole console)
    {
        var command = new Command("balance", "Spread the accounts evenly over the nodes that take users.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var moved = 0;
            await WithClusterAsync(configuration.Load(parseResult), async (cluster, token) =>
            {
                (var result, moved) = await cluster.BalanceAsync(token);
                return result;
            }, cancellationToken);
            console.Output.WriteLine($"moved {moved} accounts to another home node");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateFailover(CliConsole console, string name, string description, bool failedOver)
    {
        var nodeArgument = new Argument<string>("NODE") { Description = "The node's name." };
        var command = new Command(name, description) { nodeArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var node = parseResult.GetRequiredValue(nodeArgument);
            await WithClusterAsync(configuration.Load(parseResult), (cluster, token) => cluster.SetFailedOverAsync(node, failedOver, token), cancellationToken);
            console.Output.WriteLine(failedOver
                ? $"node {node} is failed over: its group peer serves its users (their clients move at the next heartbeats)"
                : $"node {node} serves its users again (their clients move back at the next heartbeats)");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateGroupCreate(CliConsole console)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "The group's name: letters, digits, '-' and '_'." };
        var nodes = new Option<string>("--nodes") { Description = "One node, or two separated by a comma (A,B).", HelpName = "A[,B]", Required = true };
        var mode = new Option<string>("--mode") { Description = "balanced (both nodes take users) or active-standby (the first takes users, the second waits).", HelpName = "MODE", Required = true };
        var command = new Command("create", "Create a presence redundancy group of one or two nodes.") { nameArgument, nodes, mode };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetRequiredValue(nameArgument);
            var members = parseResult.GetRequiredValue(nodes).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            await WithClusterAsync(configuration.Load(parseResult),
                (cluster, token) => cluster.CreateGroupAsync(name, members, parseResult.GetRequiredValue(mode), token), cancellationToken);
            console.Output.WriteLine($"created group {name} of {string.Join(", ", members)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Runs a change through the application service the console and the REST API use, so that it is audited as the
    /// CLI's user; a refusal exits 1 with its reason.
    /// </summary>
    private static async Task WithClusterAsync(ParleyOptions options, Func<ClusterAdministration, CancellationToken, Task<AdministrationResult>> change, CancellationToken cancellationToken)
    {
        CheckPostgres(options);
        await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
        await using var database = NpgsqlDataSource.Create(options.Storage.ConnectionString!);
        var result = await change(new ClusterAdministration(storage, new ClusterTopologyAccess(database)).By(AdminActor.Cli), cancellationToken);
        if (result.Outcome != AdministrationOutcome.Done)
        {
            throw new CliException(ExitCodes.Failed, result.Problem!);
        }
    }

    private static void CheckPostgres(ParleyOptions options)
    {
        if (options.Storage.Provider != "postgres")
        {
            throw new CliException(ExitCodes.Usage, "a cluster keeps its topology in its PostgreSQL database: add --postgres CONNECTION_STRING.");
        }
    }

    /// <summary>Opens the storage (so that its schema is current), then runs <paramref name="work"/> on the topology.</summary>
    private static async Task<T> WithTopologyAsync<T>(ParleyOptions options, Func<ClusterTopology, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        CheckPostgres(options);
        await (await StorageAccess.OpenExistingAsync(options, cancellationToken)).DisposeAsync();
        await using var database = NpgsqlDataSource.Create(options.Storage.ConnectionString!);
        try
        {
            return await work(new ClusterTopology(database), cancellationToken);
        }
        catch (ClusterTopologyException e)
        {
            throw new CliException(ExitCodes.Failed, e.Message);
        }
    }
}
