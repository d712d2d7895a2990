using Microsoft.Extensions.Logging;

namespace Parley.Server.ModuleContract;

/// <summary>
/// Something that happened which modules react to (a session started, an account was removed). Every
/// event is raised the same way: each handler runs, in the order the modules registered; one that
/// throws is logged with the event's name and its subject, and neither the other handlers nor the
/// code that raised the event are stopped by it.
/// </summary>
public sealed partial class ModuleEvent<TArgs>(string name, ILogger logger)
{
    private readonly List<Func<TArgs, ValueTask>> _handlers = [];

    public string Name { get; } = name;

    public bool HasHandlers => _handlers.Count > 0;

    public void Add(Func<TArgs, ValueTask> handler) => _handlers.Add(handler);

    public async ValueTask RaiseAsync(TArgs args)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                await handler(args).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogHandlerFailed(logger, e, Name, args?.ToString() ?? "");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A module failed on the event {Event} of {Subject}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string @event, string subject);
}
