using System.Security.Cryptography;
using System.Text;

namespace Parley.Cli.Tests;

/// <summary><c>parley admin token create|list|revoke</c>: the REST API's tokens, shown once and stored hashed.</summary>
public sealed class TokenCommandTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Create_prints_the_token_once_list_shows_names_and_modes_and_revoke_removes_it()
    {
        var deploy = await _node.RunAsync("admin", "token", "create", "deploy");
        var monitoring = await _node.RunAsync("admin", "token", "create", "monitoring", "--read-only");

        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        var token = Assert.Single(deploy.OutputLines);
        Assert.Matches("^parley_[0-9a-f]{16}_[0-9a-f]{64}$", token);
        Assert.NotEqual(token, Assert.Single(monitoring.OutputLines));
        var listed = (await _node.RunAsync("admin", "token", "list")).OutputLines.Select(line => line.Split('\t')[..2]).ToList();
        Assert.Equal([["deploy", "read-write"], ["monitoring", "read-only"]], listed);

        var revoke = await _node.RunAsync("admin", "token", "revoke", "deploy");
        var again = await _node.RunAsync("admin", "token", "revoke", "deploy");

        Assert.Equal(["revoked the token deploy"], revoke.OutputLines);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("There is no token named 'deploy'", again.Error);
        Assert.Equal(["monitoring"], (await _node.RunAsync("admin", "token", "list")).OutputLines.Select(line => line.Split('\t')[0]));
    }

    [Fact]
    public async Task Only_the_hash_of_the_secret_is_stored_and_the_audit_never_holds_the_token()
    {
        var token = Assert.Single((await _node.RunAsync("admin", "token", "create", "deploy")).OutputLines);
        var id = token.Split('_')[1];
        var secret = token.Split('_')[2];

        await using (var storage = await _node.OpenStorageAsync())
        {
            var (stored, hash) = (await storage.ApiTokens.FindAsync(id))!.Value;
            Assert.Equal(("deploy", false), (stored.Name, stored.ReadOnly));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Convert.FromHexString(secret))), hash);
        }
        var database = await File.ReadAllBytesAsync(_node.DatabasePath);
        Assert.DoesNotContain(secret, Encoding.ASCII.GetString(database));

        var audit = await _node.RunAsync("audit", "list");
        Assert.Contains(audit.OutputLines, line => line.Contains("\ttoken.create\tdeploy\tread-write", StringComparison.Ordinal));
        Assert.DoesNotContain(secret, audit.Output);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task A_name_that_is_not_letters_digits_dots_dashes_or_underscores_is_refused_and_nothing_is_stored(string name)
    {
        await _node.CreateDatabaseAsync();

        var create = await _node.RunAsync("admin", "token", "create", name);

        Assert.Equal(2, create.ExitCode);
        Assert.Empty(create.OutputLines);
        Assert.Empty((await _node.RunAsync("admin", "token", "list")).OutputLines);
    }

    [Fact]
    public async Task A_second_token_of_the_same_name_is_refused_and_the_first_keeps_working()
    {
        var first = Assert.Single((await _node.RunAsync("admin", "token", "create", "deploy")).OutputLines);

        var second = await _node.RunAsync("admin", "token", "create", "deploy", "--read-only");

        Assert.Equal(1, second.ExitCode);
        Assert.Contains("A token named 'deploy' exists already", second.Error);
        Assert.Empty(second.OutputLines);
        await using var storage = await _node.OpenStorageAsync();
        Assert.False((await storage.ApiTokens.FindAsync(first.Split('_')[1]))!.Value.Token.ReadOnly);
    }
}
