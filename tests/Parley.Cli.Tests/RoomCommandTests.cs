using Parley.Server.Modules.Muc;
using Parley.Storage;

namespace Parley.Cli.Tests;

public sealed class RoomCommandTests : IDisposable
{
    private const string Team = "team@conference.example.com";

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Create_stores_a_persistent_room_with_its_settings_and_owners_and_list_shows_it()
    {
        var create = await _node.RunAsync("room", "create", Team, "--name", "Team room", "--description", "Sprint planning",
            "--members-only", "true", "--moderated", "true", "--public", "false", "--password", "s3cret",
            "--owner", "alice@example.com", "--owner", "Bob@Example.COM");

        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Equal([$"created {Team}"], create.OutputLines);
        var settings = await SettingsAsync(Team);
        Assert.True(settings.Persistent);
        Assert.Equal("Sprint planning", settings.Description);
        Assert.True(settings.PasswordProtected);
        Assert.Equal("s3cret", settings.Password);
        Assert.Equal(["alice@example.com owner", "bob@example.com owner"], await AffiliationsAsync(Team));
        var list = await _node.RunAsync("room", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal([$"{Team}\tTeam room\thidden,members-only,moderated,password\towners: alice@example.com,bob@example.com"], list.OutputLines);
    }

    [Fact]
    public async Task Create_with_only_an_owner_makes_a_public_open_unmoderated_room_without_password()
    {
        var create = await _node.RunAsync("room", "create", "Lobby@Conference.Example.NET", "--owner", "carol@example.net");

        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Equal(["created lobby@conference.example.net"], create.OutputLines);
        Assert.Equal(["lobby@conference.example.net\t\tpublic,open,unmoderated,no-password\towners: carol@example.net"], (await _node.RunAsync("room", "list")).OutputLines);
    }

    [Fact]
    public async Task List_shows_the_rooms_of_every_served_domain_and_nothing_when_there_are_none()
    {
        await _node.CreateDatabaseAsync();

        var empty = await _node.RunAsync("room", "list");
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.Equal("", empty.Output);

        await CreateAsync("b@conference.example.com");
        await CreateAsync("a@conference.example.com");
        await CreateAsync("c@conference.example.net");

        var list = await _node.RunAsync("room", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(["a@conference.example.com", "b@conference.example.com", "c@conference.example.net"], [.. list.OutputLines.Select(line => line.Split('\t')[0])]);
    }

    [Fact]
    public async Task Creating_a_room_that_exists_fails_and_leaves_it_as_it_was()
    {
        await CreateAsync(Team, "--name", "Original");

        var again = await _node.RunAsync("room", "create", Team, "--name", "Replacement", "--owner", "mallory@example.com");

        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"parley: The room {Team} exists already; use 'parley room configure'.", again.Error.Trim());
        Assert.Equal("", again.Output);
        Assert.Equal("Original", (await SettingsAsync(Team)).Name);
        Assert.Equal(["alice@example.com owner"], await AffiliationsAsync(Team));
    }

    [Fact]
    public async Task Create_without_an_owner_says_how_to_give_one_and_stores_nothing()
    {
        var create = await _node.RunAsync("room", "create", Team, "--name", "Team room");

        Assert.Equal(2, create.ExitCode);
        Assert.Equal("parley: A room needs an owner: give --owner JID.", create.Error.Trim());
        Assert.Null(await StoredAsync(Team));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice@example.com/phone")]
    [InlineData("al ice@example.com")]
    public async Task Create_and_configure_reject_an_owner_that_is_not_a_bare_jid_and_change_nothing(string owner)
    {
        var create = await _node.RunAsync("room", "create", Team, "--owner", owner);
        Assert.Equal(2, create.ExitCode);
        Assert.Equal($"parley: '{owner}' is not a bare JID such as alice@example.com.", create.Error.Trim());
        Assert.Null(await StoredAsync(Team));

        await CreateAsync(Team, "--name", "Original");
        var configure = await _node.RunAsync("room", "configure", Team, "--name", "Changed", "--owner", owner);
        Assert.Equal(2, configure.ExitCode);
        Assert.Equal($"parley: '{owner}' is not a bare JID such as alice@example.com.", configure.Error.Trim());
        Assert.Equal("Original", (await SettingsAsync(Team)).Name);
        Assert.Equal(["alice@example.com owner"], await AffiliationsAsync(Team));
    }

    [Theory]
    [InlineData("create", "team")]
    [InlineData("create", "team@conference.example.com/nick")]
    [InlineData("create", "te am@conference.example.com")]
    [InlineData("create", "@conference.example.com")]
    [InlineData("configure", "team")]
    [InlineData("configure", "team@conference.example.com/nick")]
    [InlineData("destroy", "team")]
    [InlineData("destroy", "te am@conference.example.com")]
    public async Task Commands_reject_a_text_that_is_not_a_bare_room_jid(string command, string room)
    {
        string[] extra = command == "create" ? ["--owner", "alice@example.com"] : [];

        var result = await _node.RunAsync(["room", command, room, .. extra]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"parley: '{room}' is not a room JID such as team@conference.example.com.", result.Error.Trim());
        Assert.Equal("", result.Output);
    }

    [Theory]
    [InlineData("create", "team@conference.elsewhere.org", "conference.elsewhere.org")]
    [InlineData("create", "team@example.com", "example.com")]
    [InlineData("create", "team@chat.example.com", "chat.example.com")]
    [InlineData("configure", "team@conference.elsewhere.org", "conference.elsewhere.org")]
    [InlineData("destroy", "team@conference.elsewhere.org", "conference.elsewhere.org")]
    public async Task Commands_reject_a_room_that_is_not_on_this_nodes_chat_service(string command, string room, string service)
    {
        string[] extra = command == "create" ? ["--owner", "alice@example.com"] : [];

        var result = await _node.RunAsync(["room", command, room, .. extra]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"parley: {service} is not this node's chat service (conference.DOMAIN).", result.Error.Trim());
        Assert.Null(await StoredAsync(room));
    }

    // A usage error that names the option and the value, and nothing changes.
    [Theory]
    [InlineData("--members-only", "maybe")]
    [InlineData("--moderated", "yes please")]
    [InlineData("--public", "")]
    public async Task Create_and_configure_reject_a_setting_that_is_not_true_or_false(string option, string value)
    {
        var create = await _node.RunAsync("room", "create", Team, "--owner", "alice@example.com", option, value);
        Assert.Equal(2, create.ExitCode);
        Assert.Contains($"{option} takes true or false, not '{value}'.", create.Error);
        Assert.Null(await StoredAsync(Team));

        await CreateAsync(Team);
        var configure = await _node.RunAsync("room", "configure", Team, option, value);
        Assert.Equal(2, configure.ExitCode);
        Assert.Contains($"{option} takes true or false, not '{value}'.", configure.Error);
        Assert.Equal("public,open,unmoderated,no-password", Describe(await SettingsAsync(Team)));
    }

    [Theory]
    [InlineData("create")]
    [InlineData("configure")]
    [InlineData("destroy")]
    public async Task Commands_without_a_room_say_that_it_is_missing(string command)
    {
        var result = await _node.RunAsync("room", command);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"parley: Required argument 'ROOM' missing for command: '{command}'.", result.Error);
    }

    [Fact]
    public async Task An_unknown_option_is_a_usage_error()
    {
        var result = await _node.RunAsync("room", "create", Team, "--owner", "alice@example.com", "--colour", "blue");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("parley: Unrecognized command or argument '--colour'.", result.Error);
        Assert.Null(await StoredAsync(Team));
    }

    [Fact]
    public async Task Configure_changes_only_the_given_settings_and_adds_owners()
    {
        await CreateAsync(Team, "--name", "Team room", "--description", "Sprint planning", "--members-only", "true", "--password", "s3cret");

        var configure = await _node.RunAsync("room", "configure", Team, "--moderated", "true", "--public", "false", "--owner", "bob@example.net");

        Assert.True(configure.ExitCode == 0, configure.ToString());
        Assert.Equal([$"configured {Team}: hidden,members-only,moderated,password"], configure.OutputLines);
        var settings = await SettingsAsync(Team);
        Assert.Equal("Team room", settings.Name);
        Assert.Equal("Sprint planning", settings.Description);
        Assert.Equal("s3cret", settings.Password);
        Assert.True(settings.Persistent);
        Assert.Equal(["alice@example.com owner", "bob@example.net owner"], await AffiliationsAsync(Team));
    }

    [Fact]
    public async Task Configure_with_an_empty_password_removes_it()
    {
        await CreateAsync(Team, "--password", "s3cret");

        var configure = await _node.RunAsync("room", "configure", Team, "--password", "");

        Assert.True(configure.ExitCode == 0, configure.ToString());
        Assert.Equal([$"configured {Team}: public,open,unmoderated,no-password"], configure.OutputLines);
        Assert.False((await SettingsAsync(Team)).PasswordProtected);
    }

    [Fact]
    public async Task Configure_of_an_unknown_room_fails_and_creates_nothing()
    {
        await _node.CreateDatabaseAsync();

        var configure = await _node.RunAsync("room", "configure", Team, "--name", "Team room", "--owner", "alice@example.com");

        Assert.Equal(1, configure.ExitCode);
        Assert.Equal($"parley: There is no persistent room {Team}.", configure.Error.Trim());
        Assert.Null(await StoredAsync(Team));
    }

    [Fact]
    public async Task Destroy_deletes_the_room_and_its_affiliations()
    {
        await CreateAsync(Team);
        await CreateAsync("other@conference.example.com");

        var destroy = await _node.RunAsync("room", "destroy", Team);

        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Equal([$"destroyed {Team}"], destroy.OutputLines);
        Assert.Null(await StoredAsync(Team));
        Assert.Empty(await AffiliationsAsync(Team));
        Assert.Equal(["other@conference.example.com"], [.. (await _node.RunAsync("room", "list")).OutputLines.Select(line => line.Split('\t')[0])]);
    }

    [Fact]
    public async Task Destroying_an_unknown_room_fails()
    {
        await CreateAsync(Team);
        Assert.Equal(0, (await _node.RunAsync("room", "destroy", Team)).ExitCode);

        var again = await _node.RunAsync("room", "destroy", Team);

        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"parley: There is no persistent room {Team}.", again.Error.Trim());
        Assert.Equal("", again.Output);
    }

    private async Task CreateAsync(string room, params string[] settings)
    {
        var create = await _node.RunAsync(["room", "create", room, "--owner", "alice@example.com", .. settings]);
        Assert.True(create.ExitCode == 0, create.ToString());
    }

    private async Task<StoredRoom?> StoredAsync(string room)
    {
        await using var storage = await _node.OpenStorageAsync();
        return await storage.Rooms.GetAsync(room);
    }

    private async Task<RoomConfiguration> SettingsAsync(string room) =>
        RoomConfiguration.FromStoredXml((await StoredAsync(room) ?? throw new InvalidOperationException($"{room} is not stored.")).ConfigXml);

    private async Task<string[]> AffiliationsAsync(string room)
    {
        await using var storage = await _node.OpenStorageAsync();
        return [.. (await storage.Rooms.GetAffiliationsAsync(room)).Select(a => $"{a.Jid} {a.Affiliation}")];
    }

    private static string Describe(RoomConfiguration settings) => string.Join(",",
        settings.Public ? "public" : "hidden",
        settings.MembersOnly ? "members-only" : "open",
        settings.Moderated ? "moderated" : "unmoderated",
        settings.PasswordProtected ? "password" : "no-password");
}
