namespace Parley.LoadGen;

/// <summary>parley-loadgen: logins and idle-session load against a Parley node on this machine.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            return args.FirstOrDefault() switch
            {
                "logins" => await LoginsCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "setup" => await SetupCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                _ => throw new UsageException("Say what to do: logins or setup."),
            };
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"parley-loadgen: {e.Message}\nusage:\n  {LoginsCommand.Usage}\n  {SetupCommand.Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("parley-loadgen: interrupted").ConfigureAwait(false);
            return 130;
        }
    }
}
