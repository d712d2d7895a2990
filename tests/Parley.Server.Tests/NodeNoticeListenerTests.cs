using Microsoft.Extensions.Logging.Abstractions;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Storage;

namespace Parley.Server.Tests;

public sealed class NodeNoticeListenerTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parley-notices-").FullName;
    private readonly ModuleRegistry _modules = new();
    private readonly List<string> _handled = [];
    private IParleyStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await StorageFactory.OpenAsync("sqlite", Path.Combine(_folder, "parley.db"));

    public async Task DisposeAsync()
    {
        await _storage.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_failing_handler_does_not_keep_other_handlers_or_later_notices_from_running()
    {
        _modules.OnNodeNotice("room-changed", _ => throw new InvalidOperationException("broken module"));
        _modules.OnNodeNotice("room-changed", Record("room"));
        _modules.OnNodeNotice("account-removed", Record("account"));
        var listener = Listener();
        await _storage.Notices.PublishAsync("room-changed", "team@conference.localhost");
        await _storage.Notices.PublishAsync("no-such-kind", "whatever");
        await _storage.Notices.PublishAsync("account-removed", "alice@localhost");

        Assert.Equal(3, await listener.HandleNewNoticesAsync());

        Assert.Equal(["room team@conference.localhost", "account alice@localhost"], _handled);
        Assert.Equal(0, await listener.HandleNewNoticesAsync());
    }

    [Fact]
    public async Task Notices_published_before_the_listener_started_are_history_and_later_ones_are_news()
    {
        _modules.OnNodeNotice("account-removed", Record("account"));
        var listener = Listener();
        await _storage.Notices.PublishAsync("account-removed", "before@localhost");

        await listener.StartAsync(CancellationToken.None);
        try
        {
            await _storage.Notices.PublishAsync("account-removed", "after@localhost");
            await listener.HandleNewNoticesAsync();
        }
        finally
        {
            await listener.StopAsync(CancellationToken.None);
        }

        Assert.Equal(["account after@localhost"], _handled);
    }

    [Fact]
    public async Task More_notices_than_one_read_takes_are_all_handled_in_order()
    {
        _modules.OnNodeNotice("room-changed", Record("room"));
        var listener = Listener();
        for (var i = 0; i < 250; i++)
        {
            await _storage.Notices.PublishAsync("room-changed", $"room{i}@conference.localhost");
        }

        Assert.Equal(250, await listener.HandleNewNoticesAsync());

        Assert.Equal(Enumerable.Range(0, 250).Select(i => $"room room{i}@conference.localhost"), _handled);
    }

    /// <summary>A listener whose own timer never fires during a test, so the test drives every poll.</summary>
    private NodeNoticeListener Listener()
    {
        var options = new ParleyOptions();
        options.Storage.NoticePollMilliseconds = int.MaxValue;
        return new NodeNoticeListener(options, _storage, _modules, TimeProvider.System, NullLogger<NodeNoticeListener>.Instance);
    }

    private NodeNoticeHandler Record(string label) => subject =>
    {
        _handled.Add($"{label} {subject}");
        return ValueTask.CompletedTask;
    };
}
