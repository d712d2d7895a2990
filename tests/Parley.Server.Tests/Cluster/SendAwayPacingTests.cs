using Parley.Cluster.Membership;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// How long a client that keeps signing in on the wrong node waits for its &lt;see-other-host/&gt; (with real clients:
/// <see cref="TwoNodeClusterTests"/>).
/// </summary>
public sealed class SendAwayPacingTests
{
    [Fact]
    public void The_wait_stops_growing_at_its_ceiling_and_is_forgotten_after_a_quiet_minute_and_other_accounts_are_not_paced()
    {
        var clock = new ManualTimestamps();
        var pacing = new SendAwayPacing(clock);
        var alice = Protocol.Jid.Parse("alice@localhost/desk");

        var waits = Enumerable.Range(0, 12).Select(_ => pacing.Record(alice)).ToArray();

        Assert.Equal(TimeSpan.Zero, waits[SendAwayPacing.FreeSendAways - 1]);
        Assert.Equal(SendAwayPacing.MaxDelay, waits[^1]);
        Assert.Equal(TimeSpan.Zero, pacing.Record(Protocol.Jid.Parse("bob@localhost")));
        clock.Now += (long)SendAwayPacing.Window.TotalMilliseconds + 1;
        Assert.Equal(TimeSpan.Zero, pacing.Record(alice));
    }
}
