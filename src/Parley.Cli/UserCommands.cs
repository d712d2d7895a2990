using System.CommandLine;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// <c>parley user add|remove|passwd|set-name|disable|enable|list|import</c>. Each opens the node's storage for the command only, so they
/// work while the node runs on the same data directory. Changes go through the account service
/// (<see cref="AccountService"/>), as in-band registration's do; <c>remove</c> leaves a notice that makes the node
/// disconnect the account at once.
/// </summary>
internal static class UserCommands
{
    private const int ListPageSize = 1000;

    public static Command Create(CliConsole console)
    {
        var command = new Command("user", "Manage accounts.");
        command.Subcommands.Add(CreateAdd(console));
        command.Subcommands.Add(CreateRemove(console));
        command.Subcommands.Add(CreatePasswd(console));
        command.Subcommands.Add(CreateSetName(console));
        command.Subcommands.Add(CreateSetDisabled(console, disable: true));
        command.Subcommands.Add(CreateSetDisabled(console, disable: false));
        command.Subcommands.Add(CreateList(console));
        command.Subcommands.Add(CreateImport(console));
        return command;
    }

    private static Command CreateAdd(CliConsole console)
    {
        var jidArgument = JidArgument();
        var passwordOption = PasswordOption();
        var command = new Command("add", "Create an account.") { jidArgument, passwordOption };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var bareJid = PrepareServedJid(parseResult.GetRequiredValue(jidArgument), options);
            var password = ReadPassword(parseResult, passwordOption, console, options.Auth);
            await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
            var created = await AdministrationServices.WithoutNode(storage, options).Accounts.CreateAsync(Jid.Parse(bareJid), password, cancellationToken);
            if (created.Outcome == AdministrationOutcome.AlreadyExists)
            {
                throw new CliException(ExitCodes.Failed, $"{bareJid} already exists; nothing changed.");
            }

            ThrowIfRefused(created);

            console.Output.WriteLine($"added {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateRemove(CliConsole console)
    {
        var jidArgument = JidArgument();
        var command = new Command("remove", "Delete an account.") { jidArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var bareJid = PrepareJid(parseResult.GetRequiredValue(jidArgument));
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            // A node running on this database ends the account's sessions when it reads the notice this leaves.
            if (!await AdministrationServices.WithoutNode(storage, options).Accounts.RemoveAsync(Jid.Parse(bareJid), cancellationToken: cancellationToken))
            {
                throw NoSuchAccount(bareJid);
            }

            console.Output.WriteLine($"removed {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateSetName(CliConsole console)
    {
        var jidArgument = JidArgument();
        var nameArgument = new Argument<string>("NAME") { Description = "The display name; \"\" clears it." };
        var command = new Command("set-name", "Set the display name administrators know an account by (and find it by in the console and the API).") { jidArgument, nameArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var bareJid = PrepareJid(parseResult.GetRequiredValue(jidArgument));
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var result = await AdministrationServices.WithoutNode(storage, options).Accounts.SetDisplayNameAsync(
                Jid.Parse(bareJid), parseResult.GetRequiredValue(nameArgument), cancellationToken);
            if (result.Outcome == AdministrationOutcome.NotFound)
            {
                throw NoSuchAccount(bareJid);
            }

            ThrowIfRefused(result);

            console.Output.WriteLine(string.IsNullOrWhiteSpace(parseResult.GetRequiredValue(nameArgument)) ? $"cleared the name of {bareJid}" : $"named {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateSetDisabled(CliConsole console, bool disable)
    {
        var jidArgument = JidArgument();
        var command = disable
            ? new Command("disable", "Disable an account: it keeps its data, its sessions end and it cannot sign in.") { jidArgument }
            : new Command("enable", "Let a disabled account sign in again.") { jidArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var bareJid = PrepareJid(parseResult.GetRequiredValue(jidArgument));
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            // A node running on this database ends a disabled account's sessions when it reads the notice this leaves.
            var result = await AdministrationServices.WithoutNode(storage, options).Accounts.SetDisabledAsync(Jid.Parse(bareJid), disable, cancellationToken);
            if (result.Outcome == AdministrationOutcome.NotFound)
            {
                throw NoSuchAccount(bareJid);
            }

            console.Output.WriteLine(disable ? $"disabled {bareJid}" : $"enabled {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreatePasswd(CliConsole console)
    {
        var jidArgument = JidArgument();
        var passwordOption = PasswordOption();
        var command = new Command("passwd", "Set an account's password.") { jidArgument, passwordOption };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var bareJid = PrepareJid(parseResult.GetRequiredValue(jidArgument));
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);

            // Checked first so that nobody types a new password for an account that is not there.
            if (!await storage.Accounts.ExistsAsync(bareJid, cancellationToken))
            {
                throw NoSuchAccount(bareJid);
            }

            var password = ReadPassword(parseResult, passwordOption, console, options.Auth);
            var changed = await AdministrationServices.WithoutNode(storage, options).Accounts.ChangePasswordAsync(Jid.Parse(bareJid), password, cancellationToken);
            if (changed.Outcome == AdministrationOutcome.NotFound)
            {
                throw NoSuchAccount(bareJid);
            }

            ThrowIfRefused(changed);

            console.Output.WriteLine($"changed the password of {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var domainOption = new Option<string?>("--domain") { Description = "List only this domain's accounts.", HelpName = "D" };
        var offsetOption = NonNegativeOption("--offset", "Skip this many accounts first.");
        var limitOption = NonNegativeOption("--limit", "List at most this many accounts.");
        var command = new Command("list", "List accounts, one per line, ordered by JID: the JID, then after a tab its display name, then after another tab 'disabled' for a disabled account (columns left empty at the end are left out).") { domainOption, offsetOption, limitOption };
        var configuration = new CommonOptions(command, servedDomainsFlag: false);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var domain = PrepareDomain(parseResult.GetValue(domainOption));
            var offset = parseResult.GetValue(offsetOption) ?? 0;
            var remaining = parseResult.GetValue(limitOption) ?? int.MaxValue;
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            while (remaining > 0)
            {
                var page = await storage.Accounts.ListAsync(domain, offset, Math.Min(remaining, ListPageSize), cancellationToken);
                foreach (var account in page)
                {
                    console.Output.WriteLine(ListLine(account));
                }

                if (page.Count < Math.Min(remaining, ListPageSize))
                {
                    break;
                }

                offset += page.Count;
                remaining -= page.Count;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Fixed columns, so that a script can cut them; a display name cannot hold a tab (control characters are refused).</summary>
    private static string ListLine(AccountInfo account) =>
        $"{account.Jid}\t{account.DisplayName}\t{(account.Disabled ? "disabled" : "")}".TrimEnd('\t');

    private static Command CreateImport(CliConsole console)
    {
        var fileArgument = new Argument<string>("FILE") { Description = "A CSV file of 'jid,password' lines (UTF-8; an optional 'jid,password' header)." };
        var command = new Command("import", "Create many accounts from a CSV file; existing accounts are left as they are.") { fileArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            return new AccountImport(parseResult.GetRequiredValue(fileArgument), options, console).RunAsync(cancellationToken);
        });
        return command;
    }

    private static Argument<string> JidArgument() => new("JID") { Description = "The account's bare JID, user@domain." };

    private static Option<string?> PasswordOption() => new("--password")
    {
        Description = "The password. Without it the password is read from standard input (one line), which keeps it out of the process list and shell history.",
        HelpName = "P",
    };

    private static Option<int?> NonNegativeOption(string name, string description)
    {
        var option = new Option<int?>(name) { Description = description, HelpName = "N" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() < 0)
            {
                result.AddError($"{name} must not be negative.");
            }
        });
        return option;
    }

    private static string PrepareJid(string text) =>
        AccountInput.TryPrepareJid(text, out var bareJid, out var error) ? bareJid : throw new CliException(ExitCodes.Usage, error);

    private static string PrepareServedJid(string text, ParleyOptions options) =>
        AccountInput.TryPrepareServedJid(text, options.EffectiveDomains, out var bareJid, out var error) ? bareJid : throw new CliException(ExitCodes.Usage, error);

    internal static string? PrepareDomain(string? domain)
    {
        if (domain is null)
        {
            return null;
        }

        return Precis.TryPrepareDomainpart(domain, out var prepared, out var error)
            ? prepared
            : throw new CliException(ExitCodes.Usage, $"'{domain}' is not a valid domain: {error}.");
    }

    /// <summary>
    /// The password from --password, else from standard input; refused here already when the policy refuses it, so
    /// that a bad password opens (or creates) no database.
    /// </summary>
    private static string ReadPassword(ParseResult parseResult, Option<string?> passwordOption, CliConsole console, AuthOptions auth)
    {
        var password = parseResult.GetValue(passwordOption)
            ?? console.ReadPassword()
            ?? throw new CliException(ExitCodes.Usage, "no password: give --password or write it on standard input.");
        return AccountInput.TryPreparePassword(password, auth, out _, out var error) ? password : throw new CliException(ExitCodes.Usage, error);
    }

    /// <summary>What the account service refused is a usage error, like the same checks made before it.</summary>
    internal static void ThrowIfRefused(AdministrationResult result)
    {
        if (result.Outcome == AdministrationOutcome.Refused)
        {
            throw new CliException(ExitCodes.Usage, result.Problem!);
        }
    }

    private static CliException NoSuchAccount(string bareJid) => new(ExitCodes.Failed, $"there is no account {bareJid}.");
}
