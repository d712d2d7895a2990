using System.CommandLine;
using Parley.Ldap;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;

namespace Parley.Cli;

/// <summary><c>parley directory test|sync</c>: the LDAP directory of Parley:Directory, checked and synced on demand.</summary>
internal static class DirectoryCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("directory", "The LDAP directory: check the configuration, sync accounts now.");
        command.Subcommands.Add(CreateTest(console));
        command.Subcommands.Add(CreateSync(console));
        return command;
    }

    private static Command CreateTest(CliConsole console)
    {
        var command = new Command("test", "Connect with the service account and say what the directory has: people, groups, and who cannot become an account.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var node = configuration.Load(parseResult);
            var options = Configured(node);
            var directory = new LdapDirectory(options);
            try
            {
                console.Output.WriteLine($"connected to {await directory.ProbeAsync(cancellationToken)} as {options.BindDn}");
                var people = await directory.ListUsersAsync(cancellationToken);
                var domain = node.EffectiveDomains[0];
                var invalid = people.Select(p => DirectoryAccounts.TryGetJid(p, options, domain, out _, out var problem) ? null : $"{p.Dn}: {problem}").OfType<string>().ToList();
                console.Output.WriteLine($"{people.Count} people match {options.EffectiveUserFilter} under {options.UserBase} ({people.Count(p => p.Disabled)} disabled, {invalid.Count} without a valid JID)");
                foreach (var problem in invalid)
                {
                    console.Output.WriteLine($"  {problem}");
                }
                foreach (var group in await directory.ListGroupsAsync(cancellationToken))
                {
                    console.Output.WriteLine($"group '{group.Name}': {group.MemberDns.Count} members ({group.Dn})"
                        + (group.Incomplete is null ? "" : $", not all read: {group.Incomplete}"));
                }
                return ExitCodes.Ok;
            }
            catch (DirectoryUnavailableException e)
            {
                throw new CliException(ExitCodes.Failed, e.Message);
            }
        });
        return command;
    }

    private static Command CreateSync(CliConsole console)
    {
        var command = new Command("sync", "Make the accounts match the directory now: add, update, disable who left, remove after the grace period.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var node = configuration.Load(parseResult);
            var options = Configured(node);
            await using var storage = await StorageAccess.OpenExistingAsync(node, cancellationToken);
            // A running node ends the sessions of people disabled here when it reads the notices this leaves.
            var administration = AdministrationServices.WithoutNode(storage, node);
            var sync = new DirectorySync(new LdapDirectory(options), options, storage, administration, node.EffectiveDomains[0], TimeProvider.System);
            var summary = await sync.RunAsync(new ProgressBar(console.Error), cancellationToken);
            if (summary.Failure is not null)
            {
                throw new CliException(ExitCodes.Failed, summary.ToString());
            }
            console.Output.WriteLine(summary.ToString());
            return ExitCodes.Ok;
        });
        return command;
    }

    private static DirectoryOptions Configured(ParleyOptions options)
    {
        var directory = options.Module<DirectoryModuleOptions>();
        if (!directory.IsConfigured)
        {
            throw new CliException(ExitCodes.Usage, "no directory is configured (Parley:Directory:Servers is empty).");
        }
        return directory;
    }

    /// <summary>
    /// A line per tenth done, on standard error so that the summary on standard output stays clean for scripts.
    /// Not Progress&lt;T&gt;: it posts to the thread pool, and the lines would come out of order.
    /// </summary>
    private sealed class ProgressBar(TextWriter error) : IProgress<(int Done, int Total)>
    {
        private int _shownTenths = -1;

        public void Report((int Done, int Total) value)
        {
            var tenths = value.Total == 0 ? 10 : value.Done * 10 / value.Total;
            if (tenths != _shownTenths)
            {
                _shownTenths = tenths;
                error.WriteLine($"[{new string('#', tenths),-10}] {value.Done}/{value.Total}");
            }
        }
    }
}
