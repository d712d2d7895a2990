namespace Parley.LoadGen;

/// <summary>parley-loadgen: logins, idle sessions (TCP, WebSocket and BOSH), chat, presence and group chat load, and stream resumption, against a Parley node on this machine; failover and fallback of a cluster of nodes on this machine.</summary>
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
                "chat" => await ChatCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "roster-csv" => await RosterCsvCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "presence" => await PresenceCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "muc" => await MucCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "failover-setup" => await FailoverSetupCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "failover" => await FailoverCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "resume" => await ResumeCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "websocket-idle" => await WebSocketIdleCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                "bosh-idle" => await BoshIdleCommand.RunAsync(args.Skip(1), stop.Token).ConfigureAwait(false),
                _ => throw new UsageException("Say what to do: setup, logins, chat, roster-csv, presence, muc, resume, failover-setup, failover, websocket-idle or bosh-idle."),
            };
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"parley-loadgen: {e.Message}\nusage:\n  {SetupCommand.Usage}\n  {LoginsCommand.Usage}\n  {ChatCommand.Usage}\n  {RosterCsvCommand.Usage}\n  {PresenceCommand.Usage}\n  {MucCommand.Usage}\n  {ResumeCommand.Usage}\n  {FailoverSetupCommand.Usage}\n  {FailoverCommand.Usage}\n  {WebSocketIdleCommand.Usage}\n  {BoshIdleCommand.Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("parley-loadgen: interrupted").ConfigureAwait(false);
            return 130;
        }
    }
}
