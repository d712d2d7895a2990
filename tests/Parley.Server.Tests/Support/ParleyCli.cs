namespace Parley.Server.Tests.Support;

/// <summary>The real `parley` command run in-process on a PostgreSQL database, as an administrator would beside the nodes.</summary>
public static class ParleyCli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string connectionString, params string[] args)
    {
        var config = Path.Combine(Path.GetTempPath(), $"parley-cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""{ "Parley": { "Domains": ["{{TestNode.Domain}}"] } }""");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exitCode = await Parley.Cli.Cli.RunAsync([.. args, "--postgres", connectionString, "--config", config], new StringReader(""), output, error);
            return (exitCode, output.ToString(), error.ToString());
        }
        finally
        {
            File.Delete(config);
        }
    }
}
