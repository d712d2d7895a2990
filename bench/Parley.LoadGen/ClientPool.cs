using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Parley.LoadGen;

/// <summary>The outcome of logging in many clients: the clients that made it (null where a login failed) and the first error.</summary>
internal sealed class LoginRun<T>(int count) where T : class
{
    public T?[] Clients { get; } = new T?[count];

    /// <summary>How long each login that succeeded took, from its connect to its last step.</summary>
    public LatencyRecorder Latencies { get; } = new(count);

    public int Failed;
    public string? FirstError;

    public string FirstErrorSuffix => FirstError is null ? "" : $" (first: {FirstError})";
}

/// <summary>Logging in and closing many clients with a bounded number in flight, each step under a deadline.</summary>
internal static class ClientPool
{
    private static readonly TimeSpan LoginDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CloseDeadline = TimeSpan.FromSeconds(30);

    /// <summary>The generator connects only to this machine: the host must be a loopback address (or "localhost").</summary>
    public static IPAddress LoopbackAddress(string host)
    {
        if (host == "localhost")
        {
            return IPAddress.Loopback;
        }
        if (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address))
        {
            return address;
        }
        throw new UsageException($"--host must be a loopback address such as 127.0.0.1; '{host}' is not one.");
    }

    /// <summary>
    /// Logs in users prefix{first}..prefix{first+count-1} over TCP with <paramref name="concurrency"/> logins in flight
    /// at once; Clients[i] is user prefix{first+i}. "{n}" in <paramref name="password"/> is the user's number.
    /// </summary>
    public static Task<LoginRun<LoadClient>> LogInAllAsync(
        LoginTarget target, string prefix, string password, int first, int count, int concurrency, bool sendInitialPresence, CancellationToken cancellationToken) =>
        LogInAllAsync(count, concurrency, index => prefix + (first + index),
            (index, token) => LoadClient.LoginAsync(target, prefix + (first + index),
                password.Replace("{n}", (first + index).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), sendInitialPresence, token),
            cancellationToken);

    /// <summary>Logs in users 0..count-1 (named by <paramref name="user"/> in errors), each by <paramref name="login"/> under its deadline.</summary>
    public static async Task<LoginRun<T>> LogInAllAsync<T>(
        int count, int concurrency, Func<int, string> user, Func<int, CancellationToken, Task<T>> login, CancellationToken cancellationToken)
        where T : class
    {
        var run = new LoginRun<T>(count);
        var next = -1;
        async Task LogInSomeAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(LoginDeadline);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    run.Clients[index] = await login(index, deadline.Token).ConfigureAwait(false);
                    run.Latencies.Record(started);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref run.Failed);
                    Interlocked.CompareExchange(ref run.FirstError, $"{user(index)}: {e.GetType().Name}: {e.Message}", null);
                }
            }
        }

        var workers = new Task[Math.Min(concurrency, count)];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(LogInSomeAsync, cancellationToken);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        return run;
    }

    /// <summary>Closes every client; returns how many did not close cleanly (they are dropped all the same).</summary>
    public static async Task<int> CloseAllAsync<T>(T?[] clients, int concurrency, CancellationToken cancellationToken) where T : class, IChatClient
    {
        var next = -1;
        var failed = 0;
        async Task CloseSomeAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < clients.Length)
            {
                var client = clients[index];
                if (client is null)
                {
                    continue;
                }
                clients[index] = null;
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(CloseDeadline);
                try
                {
                    await client.CloseAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        var workers = new Task[Math.Max(1, Math.Min(concurrency, clients.Length))];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(CloseSomeAsync, cancellationToken);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        return failed;
    }
}
