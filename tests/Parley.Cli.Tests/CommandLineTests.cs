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
}
