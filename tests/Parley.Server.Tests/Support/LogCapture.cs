using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Support;

/// <summary>The node's log lines (formatted as an operator reads them), for tests that assert what the log says.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Waits until a line contains <paramref name="text"/>; fails after a deadline, listing what was logged.</summary>
    public async Task<string> WaitForAsync(string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (_lines.FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"No log line contains '{text}'. Logged:\n{string.Join('\n', _lines)}");
            }
            await Task.Delay(10);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception));
    }
}
