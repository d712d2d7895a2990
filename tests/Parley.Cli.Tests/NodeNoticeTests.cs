namespace Parley.Cli.Tests;

/// <summary>The commands that change what a running node has in memory leave it a notice; failed ones leave none.</summary>
public sealed class NodeNoticeTests : IDisposable
{
    private const string Team = "team@conference.example.com";

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Removing_an_account_leaves_an_account_removed_notice_with_its_prepared_bare_jid()
    {
        await RunOkAsync("user", "add", "alice@example.com", "--password", "a secret");

        await RunOkAsync("user", "remove", "Alice@Example.COM");

        Assert.Equal(["account-removed alice@example.com"], await _node.NoticesAsync());
    }

    [Fact]
    public async Task Removing_a_missing_account_or_a_bad_jid_leaves_no_notice()
    {
        await RunOkAsync("user", "add", "alice@example.com", "--password", "a secret");

        Assert.Equal(1, (await _node.RunAsync("user", "remove", "nobody@example.com")).ExitCode);
        Assert.Equal(2, (await _node.RunAsync("user", "remove", "not a jid")).ExitCode);

        Assert.Empty(await _node.NoticesAsync());
    }

    [Fact]
    public async Task Other_user_commands_leave_no_notice()
    {
        await RunOkAsync("user", "add", "alice@example.com", "--password", "a secret");
        await RunOkAsync("user", "passwd", "alice@example.com", "--password", "changed secret");
        await RunOkAsync("user", "list");

        Assert.Empty(await _node.NoticesAsync());
    }

    [Fact]
    public async Task Creating_configuring_and_destroying_a_room_each_leave_a_room_changed_notice()
    {
        await RunOkAsync("room", "create", Team, "--owner", "alice@example.com");
        await RunOkAsync("room", "configure", Team, "--name", "Team room");
        await RunOkAsync("room", "list");
        await RunOkAsync("room", "destroy", Team);

        Assert.Equal([$"room-changed {Team}", $"room-changed {Team}", $"room-changed {Team}"], await _node.NoticesAsync());
    }

    [Fact]
    public async Task Failed_room_commands_leave_no_notice()
    {
        Assert.Equal(1, (await _node.RunAsync("room", "configure", Team, "--name", "Team room")).ExitCode);
        Assert.Equal(1, (await _node.RunAsync("room", "destroy", Team)).ExitCode);
        Assert.Equal(2, (await _node.RunAsync("room", "create", Team)).ExitCode);
        await RunOkAsync("room", "create", Team, "--owner", "alice@example.com");
        Assert.Equal(1, (await _node.RunAsync("room", "create", Team, "--owner", "alice@example.com")).ExitCode);
        Assert.Equal(2, (await _node.RunAsync("room", "configure", Team, "--public", "maybe")).ExitCode);

        Assert.Equal([$"room-changed {Team}"], await _node.NoticesAsync());
    }

    private async Task RunOkAsync(params string[] args)
    {
        var result = await _node.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
