using System.CommandLine;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.Muc;

namespace Parley.Cli;

/// <summary>
/// <c>parley room list|create|configure|destroy</c>: persistent chat rooms, as stored. Like the other commands they open
/// the node's storage for the command only; each change goes through <see cref="RoomAdministration"/> and leaves a
/// notice: a node running on the same database reloads the room if it has it in memory (occupied), or destroys it for
/// its occupants.
/// </summary>
internal static class RoomCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("room", "List, create, configure and destroy persistent chat rooms (XEP-0045).");
        command.Subcommands.Add(CreateList(console));
        command.Subcommands.Add(CreateCreate(console));
        command.Subcommands.Add(CreateConfigure(console));
        command.Subcommands.Add(CreateDestroy(console));
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var command = new Command("list", "List the persistent rooms of the chat service (conference.DOMAIN): JID, name, settings, owners.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            foreach (var domain in options.EffectiveDomains)
            {
                foreach (var room in await storage.Rooms.ListAsync($"{options.Module<MucOptions>().Subdomain}.{domain}", cancellationToken))
                {
                    var settings = RoomConfiguration.FromStoredXml(room.ConfigXml);
                    var owners = new List<string>();
                    foreach (var affiliation in await storage.Rooms.GetAffiliationsAsync(room.Jid, cancellationToken))
                    {
                        if (affiliation.Affiliation == "owner")
                        {
                            owners.Add(affiliation.Jid);
                        }
                    }
                    console.Output.WriteLine($"{room.Jid}\t{settings.Name}\t{Describe(settings)}\towners: {string.Join(",", owners)}");
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed class SettingOptions
    {
        public Option<string?> Name { get; } = new("--name") { Description = "The room's name.", HelpName = "TEXT" };
        public Option<string?> Description { get; } = new("--description") { Description = "The room's description.", HelpName = "TEXT" };
        public Option<string?> MembersOnly { get; } = SettingOption("--members-only", "Only members may enter (true/false).");
        public Option<string?> Moderated { get; } = SettingOption("--moderated", "Only participants may speak (true/false).");
        public Option<string?> Public { get; } = SettingOption("--public", "List the room publicly (true/false).");
        public Option<string?> Password { get; } = new("--password") { Description = "Require this password to enter; an empty one removes it.", HelpName = "SECRET" };
        public Option<string[]> Owners { get; } = new("--owner") { Description = "Make this bare JID an owner (may be repeated).", HelpName = "JID", AllowMultipleArgumentsPerToken = false };

        /// <summary>
        /// A yes/no setting, read as text so that a wrong value is named in the error (System.CommandLine
        /// leaves a value that is not a bool out of a bool option and calls it a stray argument).
        /// </summary>
        private static Option<string?> SettingOption(string name, string description)
        {
            var option = new Option<string?>(name) { Description = description, HelpName = "true|false" };
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<string?>() is { } text && !bool.TryParse(text, out _))
                {
                    result.AddError($"{name} takes true or false, not '{text}'.");
                }
            });
            return option;
        }

        private static bool? Setting(ParseResult parseResult, Option<string?> option) =>
            parseResult.GetValue(option) is { } text ? bool.Parse(text) : null;

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Name, Description, MembersOnly, Moderated, Public, Password, Owners })
            {
                command.Options.Add(option);
            }
        }

        public RoomConfiguration Apply(RoomConfiguration settings, ParseResult parseResult)
        {
            var password = parseResult.GetValue(Password);
            return settings with
            {
                Name = parseResult.GetValue(Name) ?? settings.Name,
                Description = parseResult.GetValue(Description) ?? settings.Description,
                MembersOnly = Setting(parseResult, MembersOnly) ?? settings.MembersOnly,
                Moderated = Setting(parseResult, Moderated) ?? settings.Moderated,
                Public = Setting(parseResult, Public) ?? settings.Public,
                Password = password ?? settings.Password,
            };
        }

        public List<Jid> OwnersOf(ParseResult parseResult)
        {
            var owners = new List<Jid>();
            foreach (var owner in parseResult.GetValue(Owners) ?? [])
            {
                if (!Jid.TryParse(owner, out var jid) || RoomAdministration.OwnerProblem(jid) is not null)
                {
                    throw new CliException(ExitCodes.Usage, $"'{owner}' is not a bare JID such as alice@example.com.");
                }
                owners.Add(jid);
            }
            return owners;
        }
    }

    private static Command CreateCreate(CliConsole console)
    {
        var roomArgument = RoomArgument();
        var settings = new SettingOptions();
        var command = new Command("create", "Create a persistent room with at least one owner.") { roomArgument };
        settings.AddTo(command);
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var room = ParseRoom(parseResult.GetRequiredValue(roomArgument), options);
            var owners = settings.OwnersOf(parseResult);
            if (owners.Count == 0)
            {
                throw new CliException(ExitCodes.Usage, "A room needs an owner: give --owner JID.");
            }
            await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
            var created = await AdministrationServices.WithoutNode(storage, options).Rooms.CreateAsync(
                room, settings.Apply(new RoomConfiguration(), parseResult), owners, cancellationToken);
            if (created.Outcome == AdministrationOutcome.AlreadyExists)
            {
                throw new CliException(ExitCodes.Failed, $"The room {room} exists already; use 'parley room configure'.");
            }
            UserCommands.ThrowIfRefused(created);
            console.Output.WriteLine($"created {room}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateConfigure(CliConsole console)
    {
        var roomArgument = RoomArgument();
        var settings = new SettingOptions();
        var command = new Command("configure", "Change a persistent room's settings or add owners; a running node applies them at once.") { roomArgument };
        settings.AddTo(command);
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var room = ParseRoom(parseResult.GetRequiredValue(roomArgument), options);
            var owners = settings.OwnersOf(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var (configured, roomSettings) = await AdministrationServices.WithoutNode(storage, options).Rooms.ConfigureAsync(
                room, stored => settings.Apply(stored, parseResult), owners, cancellationToken);
            if (configured.Outcome == AdministrationOutcome.NotFound)
            {
                throw NoSuchRoom(room);
            }
            UserCommands.ThrowIfRefused(configured);
            console.Output.WriteLine($"configured {room}: {Describe(roomSettings!)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateDestroy(CliConsole console)
    {
        var roomArgument = RoomArgument();
        var command = new Command("destroy", "Delete a persistent room and its affiliations (its archive stays, for compliance).") { roomArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var room = ParseRoom(parseResult.GetRequiredValue(roomArgument), options);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var destroyed = await AdministrationServices.WithoutNode(storage, options).Rooms.DestroyAsync(room, cancellationToken);
            if (destroyed.Outcome == AdministrationOutcome.NotFound)
            {
                throw NoSuchRoom(room);
            }
            UserCommands.ThrowIfRefused(destroyed);
            console.Output.WriteLine($"destroyed {room}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Argument<string> RoomArgument() => new("ROOM") { Description = "The room's JID, e.g. team@conference.example.com." };

    /// <summary>A bare room JID on this node's chat service.</summary>
    private static Jid ParseRoom(string text, ParleyOptions options)
    {
        if (!Jid.TryParse(text, out var jid) || jid.Local is null || !jid.IsBare)
        {
            throw new CliException(ExitCodes.Usage, $"'{text}' is not a room JID such as team@{options.Module<MucOptions>().Subdomain}.{options.EffectiveDomains[0]}.");
        }
        return RoomAdministration.RoomProblem(jid, options) is { } problem ? throw new CliException(ExitCodes.Usage, problem) : jid;
    }

    private static CliException NoSuchRoom(Jid room) => new(ExitCodes.Failed, $"There is no persistent room {room}.");

    private static string Describe(RoomConfiguration settings) => string.Join(",",
        settings.Public ? "public" : "hidden",
        settings.MembersOnly ? "members-only" : "open",
        settings.Moderated ? "moderated" : "unmoderated",
        settings.PasswordProtected ? "password" : "no-password");
}
