using System.Threading.Channels;

namespace Parley.Storage;

/// <summary>
/// One archived message waiting for the group commit, split as the archive tables store it, with the text its store
/// indexes for full-text search.
/// </summary>
internal sealed record PendingAppend(string Archive, string WithBare, string WithResource, long Stamp, string Xml, string SearchText)
{
    public TaskCompletionSource<string> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Archive appends of every store go through one writer that commits whatever has queued up in one transaction (group
/// commit): every message is stored before its caller goes on, but a busy node pays one commit per batch instead of one
/// per message. <paramref name="insertBatch"/> writes a batch in one transaction and returns the new ids in its order.
/// The one writer is what limits a busy node, so what can be done before it — the text for the search index
/// (<paramref name="searchTextOf"/>, from the archive and the message's body) — is done by each appender, in parallel.
/// </summary>
internal sealed class ArchiveAppendQueue(Func<List<PendingAppend>, Task<long[]>> insertBatch, Func<string, string, string> searchTextOf)
{
    private const int MaxAppendsPerTransaction = 500;
    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<PendingAppend> _batch = new(MaxAppendsPerTransaction);
    private int _writerRunning;

    /// <summary>Checks and queues a message; the task ends with its id once the batch it went in is committed.</summary>
    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, string body, CancellationToken cancellationToken)
    {
        ArchiveArguments.CheckArchive(archive);
        ArchiveArguments.CheckWith(with);
        UserDataArguments.CheckXml(xml);
        cancellationToken.ThrowIfCancellationRequested();
        var (withBare, withResource) = ArchiveArguments.SplitJid(with);
        var append = new PendingAppend(archive, withBare, withResource, stamp.ToUnixTimeMilliseconds(), xml, searchTextOf(archive, body));
        _appends.Writer.TryWrite(append);
        if (Interlocked.CompareExchange(ref _writerRunning, 1, 0) == 0)
        {
            _ = Task.Run(WriteAppendsAsync);
        }
        return append.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task WriteAppendsAsync()
    {
        // Only the one running writer uses it (_writerRunning), and it is empty whenever a writer stops.
        var batch = _batch;
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxAppendsPerTransaction && _appends.Reader.TryRead(out var append))
            {
                batch.Add(append);
            }
            if (batch.Count == 0)
            {
                // Stop, unless an append arrived after the queue looked empty and found the writer still running.
                Volatile.Write(ref _writerRunning, 0);
                if (!_appends.Reader.TryPeek(out _) || Interlocked.CompareExchange(ref _writerRunning, 1, 0) != 0)
                {
                    return;
                }
                continue;
            }
            try
            {
                var ids = await insertBatch(batch);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(ArchiveArguments.FormatId(ids[i]));
                }
            }
            catch (Exception e)
            {
                foreach (var append in batch)
                {
                    append.Done.TrySetException(e);
                }
            }
        }
    }
}
