using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Server.Modules.Muc;

namespace Parley.Cluster.Rooms;

/// <summary>
/// At every heartbeat, the rooms this node has in memory but that run on another node now (<see cref="RoomPlacement"/>:
/// a node came up, this one was failed over by hand, or a stanza reached this node while the views of the nodes
/// differed) leave this node, so that one room never runs on two nodes for longer than a heartbeat.
/// </summary>
public sealed partial class RoomHandOff(ParleyOptions options, RoomPlacement placement, IServiceProvider services, ILogger<RoomHandOff> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The chat module may be switched off: then there are no rooms.
        if (services.GetService<MucService>() is not { } muc)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMilliseconds));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var handedOff = await muc.HandOffRoomsAsync(room => placement.HostedElsewhere(room) is not null).ConfigureAwait(false);
                if (handedOff > 0)
                {
                    LogHandedOff(logger, handedOff);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogHandOffFailed(logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} rooms run on another node now; their occupants were told to join again there")]
    private static partial void LogHandedOff(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handing rooms off to the nodes that run them now failed")]
    private static partial void LogHandOffFailed(ILogger logger, Exception exception);
}
