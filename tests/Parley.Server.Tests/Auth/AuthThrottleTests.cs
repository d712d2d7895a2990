using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Auth;

public sealed class AuthThrottleTests
{
    private static (AuthThrottle Throttle, ManualTimestamps Clock) Create(int ipFailuresBeforeDelay = 0)
    {
        var clock = new ManualTimestamps();
        var options = new AuthOptions { FailureDelayMilliseconds = 100, MaxFailureDelayMilliseconds = 1000, FailureWindowSeconds = 60, IpFailuresBeforeDelay = ipFailuresBeforeDelay };
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

    [Fact]
    public void Users_behind_one_address_each_mistyping_once_get_no_address_wide_delay_until_the_threshold()
    {
        var (throttle, _) = Create(ipFailuresBeforeDelay: 5);

        var delays = Enumerable.Range(1, 8).Select(i => throttle.RecordFailure($"user{i}@localhost", "192.0.2.1").TotalMilliseconds).ToList();

        // Each account's own first failure costs 100 ms; the address adds nothing for five, then doubles.
        Assert.Equal([100, 100, 100, 100, 100, 100, 200, 400], delays);
    }

    [Fact]
    public void A_successful_login_clears_its_account_but_not_the_address_a_sprayer_uses()
    {
        var (throttle, _) = Create(ipFailuresBeforeDelay: 2);
        throttle.RecordFailure("victim1@localhost", "192.0.2.1");
        throttle.RecordFailure("victim2@localhost", "192.0.2.1");
        throttle.RecordFailure("victim3@localhost", "192.0.2.1");

        throttle.RecordSuccess("own@localhost");
        throttle.RecordSuccess("victim3@localhost");

        // Fourth failure from the address: two over the threshold.
        Assert.Equal(200, throttle.RecordFailure("victim4@localhost", "192.0.2.1").TotalMilliseconds);
        Assert.Equal(100, throttle.RecordFailure("victim3@localhost", "198.51.100.7").TotalMilliseconds);
    }
}
