using Parley.Server.Modules.Version;

namespace Parley.Cli.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Version_prints_the_server_version()
    {
        var version = await CliResult.RunAsync("--version");

        Assert.Equal(0, version.ExitCode);
        Assert.Equal([VersionModule.ProductVersion], version.OutputLines);
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        var help = await CliResult.RunAsync("--help");

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("serve", help.Output);
        Assert.Contains("user", help.Output);
        Assert.Contains("config", help.Output);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("user", "add")]
    [InlineData("serve", "--c2s-port", "many")]
    public async Task A_wrong_command_line_is_a_usage_error(params string[] args)
    {
        var result = await CliResult.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("parley: ", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task An_unknown_command_gets_one_line_naming_it_and_the_commands()
    {
        var result = await CliResult.RunAsync("status");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            ["parley: unknown command 'status'; the commands of 'parley' are: serve, user, roster, room, config, archive, storage, admin, audit, banner, settings, directory, cluster.", "Try 'parley --help'."],
            result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("Required command", result.Error);
        Assert.DoesNotContain("Unrecognized", result.Error);
    }

    [Fact]
    public async Task An_unknown_subcommand_is_named_with_its_command()
    {
        var result = await CliResult.RunAsync("user", "delete", "alice@example.com");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("parley: unknown command 'user delete'; the commands of 'parley user' are: add, remove, passwd, set-name, disable, enable, list, import.", result.Error);
    }

    [Fact]
    public async Task A_command_group_without_a_command_says_which_it_needs()
    {
        var result = await CliResult.RunAsync("room");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("parley: 'parley room' needs a command: list, create, configure, destroy.", result.Error);
    }

    [Fact]
    public async Task No_arguments_print_the_help()
    {
        var result = await CliResult.RunAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Contains("Usage:", result.Output);
        Assert.Contains("serve", result.Output);
    }
}
