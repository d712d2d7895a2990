using System.Diagnostics;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Auth;

/// <summary>Re-login throttling: a node starts at most Auth:LoginsPerSecond sign-ins a second, the rest wait their turn in order.</summary>
public sealed class LoginRateTests
{
    private const int Rate = 4;

    /// <summary>Clients that have TLS up and are about to authenticate, so that their sign-ins come at once.</summary>
    private static async Task<XmppTestClient[]> ReadyToSignInAsync(TestNode node, int count)
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            var client = await XmppTestClient.ConnectAsync(node.C2sPort);
            await client.OpenStreamAsync();
            await client.StartTlsAsync();
            return client;
        }));
        return clients;
    }

    [Fact]
    public async Task Clients_signing_in_at_once_all_succeed_in_turn_and_the_node_never_starts_more_than_the_rate_in_a_second()
    {
        await using var node = await TestNode.StartAsync(options => options.Auth.LoginsPerSecond = Rate);
        await node.CreateUserAsync("alice", "alice-password");
        const int clients = 12;
        var ready = await ReadyToSignInAsync(node, clients);

        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(ready.Select(client => client.TryAuthenticateAsync("alice", "alice-password")));
        clock.Stop();

        Assert.All(outcomes, outcome => Assert.Equal("success", outcome.Name));
        var gate = node.App.Node.LoginGate;
        Assert.InRange(gate.MostInOneSecond, 1, Rate);
        Assert.True(gate.MostWaiting >= clients - Rate - 1, $"{gate.MostWaiting} waited at most");
        Assert.Equal(0, gate.Refused);
        // The last of them had its turn only after (clients - 1) / rate seconds.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds((clients - 1.0) / Rate) - TimeSpan.FromMilliseconds(100), $"all signed in within {clock.Elapsed}");
        foreach (var client in ready)
        {
            await client.RestartStreamAsync();
            await client.BindAsync();
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_the_queue_full_a_client_is_refused_at_once_with_a_clear_error_and_signs_in_when_it_tries_again()
    {
        await using var node = await TestNode.StartAsync(options =>
        {
            options.Auth.LoginsPerSecond = 1;
            options.Auth.LoginQueueLength = 2;
        });
        await node.CreateUserAsync("alice", "alice-password");
        var ready = await ReadyToSignInAsync(node, 8);

        var outcomes = await Task.WhenAll(ready.Select(client => client.TryAuthenticateAsync("alice", "alice-password")));

        var refused = outcomes.Where(outcome => outcome.Name == "failure").ToArray();
        Assert.NotEmpty(refused);
        Assert.All(outcomes, outcome => Assert.Contains(outcome.Name, new[] { "success", "failure" }));
        Assert.All(refused, failure =>
        {
            Assert.NotNull(failure.Child("temporary-auth-failure", Ns.Sasl));
            Assert.Equal("This server is busy signing other clients in; try again in a few seconds.", failure.ChildText("text", Ns.Sasl));
        });
        Assert.Equal(refused.Length, node.App.Node.LoginGate.Refused);
        Assert.True(node.App.Node.LoginGate.MostWaiting <= 2);

        // A refused client keeps its stream and signs in when it tries again; the account is unharmed.
        var again = ready[Array.FindIndex(outcomes, outcome => outcome.Name == "failure")];
        await Eventually.TrueAsync(() => node.App.Node.LoginGate.Waiting == 0);
        Assert.Equal("success", (await again.TryAuthenticateAsync("alice", "alice-password")).Name);
        foreach (var client in ready)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public void A_negative_login_rate_or_queue_is_a_configuration_problem()
    {
        var options = new ParleyOptions { Domains = ["localhost"] };
        options.Auth.LoginsPerSecond = -1;

        Assert.Contains("Parley:Auth:LoginsPerSecond and LoginQueueLength: must not be negative (LoginsPerSecond 0: no limit).", ConfigurationCheck.Problems(options));
        options.Auth.LoginsPerSecond = 0;
        Assert.Empty(ConfigurationCheck.Problems(options));
    }
}
