using System.Text;
using Parley.Protocol.Sasl;

namespace Parley.Protocol.Tests;

/// <summary>An in-memory account store for the SASL mechanisms, counting lookups.</summary>
internal sealed class CredentialStore
{
    private readonly Dictionary<(string, ScramHash), ScramCredentials> _credentials = [];

    public int Lookups { get; private set; }

    public CredentialStore Add(string username, string password, int iterations = 4096)
    {
        _credentials[(username, ScramHash.Sha1)] = ScramCredentialFactory.Create(ScramHash.Sha1, password, iterations);
        _credentials[(username, ScramHash.Sha256)] = ScramCredentialFactory.Create(ScramHash.Sha256, password, iterations);
        return this;
    }

    public CredentialStore Add(string username, ScramCredentials credentials)
    {
        _credentials[(username, credentials.Hash)] = credentials;
        return this;
    }

    public ValueTask<ScramCredentials?> Lookup(string username, ScramHash hash, CancellationToken cancellationToken)
    {
        Lookups++;
        return ValueTask.FromResult(_credentials.GetValueOrDefault((username, hash)));
    }
}

internal static class Sasl
{
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[]? bytes) => Encoding.UTF8.GetString(bytes ?? []);

    public static ValueTask<SaslStep> StepAsync(ISaslServerMechanism server, string message) => StepAsync(server, Bytes(message));

    public static ValueTask<SaslStep> StepAsync(ISaslServerMechanism server, byte[] message) => server.StepAsync(message, CancellationToken.None);

    /// <summary>Runs a whole client⇄server exchange and returns the server's steps in order.</summary>
    public static async Task<List<SaslStep>> ExchangeAsync(ScramClient client, ScramServer server)
    {
        var steps = new List<SaslStep> { await StepAsync(server, client.ClientFirst()) };
        if (steps[^1].Outcome == SaslOutcome.Challenge)
        {
            steps.Add(await StepAsync(server, client.ClientFinal(steps[^1].Data)));
        }

        return steps;
    }

    public static void AssertFailure(SaslStep step, string condition)
    {
        Assert.Equal(SaslOutcome.Failure, step.Outcome);
        Assert.Equal(condition, step.Condition);
        Assert.False(string.IsNullOrEmpty(step.Text));
        Assert.Null(step.Data);
    }
}
