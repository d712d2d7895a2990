using Parley.Server.Auth;
using Parley.Server.Hosting;

namespace Parley.Server.Tests.Auth;

public sealed class AuthThrottleTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; }
        public override long TimestampFrequency => 1000;
        public override long GetTimestamp() => Now;
    }

    private static (AuthThrottle Throttle, ManualClock Clock) Create()
    {
        var clock = new ManualClock();
        var options = new AuthOptions { FailureDelayMilliseconds = 100, MaxFailureDelayMilliseconds = 1000, FailureWindowSeconds = 60 };
        return (new AuthThrottle(options, clock), clock);
    }

    [Fact]
    public void Each_failure_doubles_the_delay_up_to_the_ceiling()
    {
        var (throttle, _) = Create();

        var delays = Enumerable.Range(0, 6).Select(_ => throttle.RecordFailure("juliet@localhost", "192.0.2.1").TotalMilliseconds).ToList();

        Assert.Equal([100, 200, 400, 800, 1000, 1000], delays);
    }

    [Fact]
    public void Failures_count_per_ip_across_accounts_and_per_account_across_ips()
    {
        var (throttle, _) = Create();
        throttle.RecordFailure("a@localhost", "192.0.2.1");
        throttle.RecordFailure("b@localhost", "192.0.2.1");

        Assert.Equal(400, throttle.RecordFailure("c@localhost", "192.0.2.1").TotalMilliseconds);
        Assert.Equal(200, throttle.RecordFailure("a@localhost", "198.51.100.7").TotalMilliseconds);
    }

    [Fact]
    public void Success_clears_the_account_and_the_window_forgets_old_failures()
    {
        var (throttle, clock) = Create();
        throttle.RecordFailure("juliet@localhost", "192.0.2.1");
        throttle.RecordSuccess("juliet@localhost");
        Assert.Equal(100, throttle.RecordFailure("juliet@localhost", "198.51.100.7").TotalMilliseconds);

        clock.Now += 61_000;
        throttle.Prune();

        Assert.Equal(100, throttle.RecordFailure("juliet@localhost", "198.51.100.7").TotalMilliseconds);
    }
}
