using Parley.Server.Concurrency;

namespace Parley.Server.Tests.Concurrency;

public class StripedLockTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_second_holder_of_the_same_key_waits_until_the_first_releases()
    {
        var locks = new StripedLock();
        var first = await locks.LockAsync("juliet@example.com");

        var second = locks.LockAsync("juliet@example.com").AsTask();

        Assert.False(second.IsCompleted);
        first.Dispose();
        (await second.WaitAsync(Deadline)).Dispose();
    }

    [Fact]
    public async Task Many_holders_of_one_key_never_overlap()
    {
        var locks = new StripedLock();
        var inside = 0;
        var overlaps = 0;
        var work = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                using (await locks.LockAsync("romeo@example.com"))
                {
                    if (Interlocked.Increment(ref inside) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }
                    await Task.Yield();
                    Interlocked.Decrement(ref inside);
                }
            }
        }));

        await Task.WhenAll(work).WaitAsync(Deadline);

        Assert.Equal(0, overlaps);
    }

    [Fact]
    public async Task Keys_on_other_stripes_do_not_wait()
    {
        var locks = new StripedLock(2);
        using var held = await locks.LockAsync("key-0");
        using var giveUp = new CancellationTokenSource();

        // With two stripes, one of a few keys lands on the other stripe and gets its lock at once;
        // the ones that share key-0's stripe wait, and give up at the end.
        var attempts = Enumerable.Range(1, 64).Select(i => locks.LockAsync($"key-{i}", giveUp.Token).AsTask()).ToList();
        var waiting = attempts.Where(attempt => !attempt.IsCompleted).ToList();

        Assert.Contains(attempts, attempt => attempt.IsCompletedSuccessfully);
        Assert.NotEmpty(waiting);
        await giveUp.CancelAsync();
        foreach (var attempt in waiting)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => attempt.WaitAsync(Deadline));
        }
    }

    [Fact]
    public async Task Locking_ever_more_keys_allocates_nothing_per_key()
    {
        var locks = new StripedLock();
        var keys = Enumerable.Range(0, 100_000).Select(i => $"user{i}@example.com").ToArray();
        (await locks.LockAsync(keys[0])).Dispose();

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var key in keys)
        {
            // Uncontended, the lock completes at once, on this thread.
            var pending = locks.LockAsync(key);
            Assert.True(pending.IsCompleted);
            (await pending).Dispose();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A table of a gate per key (what the roster had) takes megabytes for this many keys.
        Assert.True(allocated < 10_000, $"{allocated} bytes allocated for {keys.Length} keys");
    }

    [Fact]
    public void A_lock_needs_at_least_one_stripe()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StripedLock(0));
    }
}
