using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>
/// Every device in sync and no message lost, with python3-slixmpp: carbons (XEP-0280), the message
/// archive (XEP-0313 with XEP-0059 paging and XEP-0359 ids), stream management with resumption
/// (XEP-0198), and offline storage with delay stamps (XEP-0160, XEP-0203) when a session is not resumed.
/// </summary>
public sealed class DeviceSyncTests : IAsyncLifetime
{
    private static readonly string[] Conversation =
    [
        "Romeo, are you there?", "Yes, at my desk.", "Call me from your phone.", "Calling from my phone.",
        "Bring the book.", "I will.", "See you at noon.",
    ];

    private ParleyProcess? _node;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_devices_show_the_whole_conversation_a_third_reads_it_from_the_archive_and_a_cut_device_resumes_with_nothing_lost()
    {
        var result = await RunAsync("sync");

        Assert.True(result.GetProperty("phone_sm").GetProperty("resume").GetBoolean());
        Assert.Equal(Conversation, Strings(result.GetProperty("juliet")));

        // Both of Romeo's devices show every line, whichever device sent or received it.
        var desk = result.GetProperty("desk");
        var phone = result.GetProperty("phone");
        Assert.Equal(Conversation, Bodies(desk));
        Assert.Equal(Conversation, Bodies(phone));
        Assert.Equal(["received", "sent-here", "carbon-received", "carbon-sent", "received", "sent-here", "received"], Field(desk, "how"));
        Assert.Equal(["carbon-received", "carbon-sent", "received", "sent-here", "carbon-received", "carbon-sent", "carbon-received"], Field(phone, "how"));

        // The tablet pages through the archive (3 per page) and finds every line, in order, from the right sender,
        // under the same stanza-id the devices got with Juliet's messages.
        var pages = result.GetProperty("tablet_pages").EnumerateArray().ToArray();
        Assert.Equal(3, pages.Length);
        Assert.Equal(["false", "false", "true"], pages.Select(page => page.GetProperty("complete").GetString()));
        Assert.All(pages, page => Assert.InRange(page.GetProperty("messages").GetArrayLength(), 1, 3));
        var archived = pages.SelectMany(page => page.GetProperty("messages").EnumerateArray()).ToArray();
        Assert.Equal(Conversation, archived.Select(message => message.GetProperty("body").GetString()));
        Assert.Equal(
            ["juliet@localhost", "romeo@localhost", "juliet@localhost", "romeo@localhost", "juliet@localhost", "romeo@localhost", "juliet@localhost"],
            archived.Select(message => message.GetProperty("from").GetString()));
        var julietsLines = new[] { 0, 2, 4, 6 };
        foreach (var line in julietsLines)
        {
            var archiveId = archived[line].GetProperty("id").GetString();
            Assert.Equal(archiveId, desk[line].GetProperty("stanza_id").GetString());
            Assert.Equal(archiveId, phone[line].GetProperty("stanza_id").GetString());
        }

        // Cut mid-conversation, the phone resumed its session (no new one) and has every message exactly once.
        var resume = result.GetProperty("resume");
        Assert.Equal(1, resume.GetProperty("resumptions").GetInt32());
        Assert.Equal(1, resume.GetProperty("phone_sessions_started").GetInt32());
        var sent = Strings(resume.GetProperty("sent"));
        Assert.Equal(11, sent.Length);
        Assert.Equal(sent, Strings(resume.GetProperty("phone")));
        Assert.Equal(sent, Strings(resume.GetProperty("desk")));
    }

    [Fact]
    public async Task Messages_for_a_cut_device_that_never_resumes_are_delivered_offline_with_a_delay_stamp_and_are_in_the_archive()
    {
        var result = await RunAsync("lost", new Dictionary<string, string> { ["PARLEY__SESSIONS__RESUMETIMEOUTSECONDS"] = "2" });
        string[] missed = ["missed 1", "missed 2", "missed 3"];

        Assert.True(result.GetProperty("phone_sm").GetProperty("resume").GetBoolean());
        Assert.True(result.GetProperty("sent_before_the_session_ended").GetBoolean(), "Juliet's messages must reach the session while it waits to be resumed.");
        Assert.Empty(result.GetProperty("juliet_errors").EnumerateArray());

        // At the next login: exactly the messages the phone never acknowledged, in order, each stamped.
        var offline = result.GetProperty("offline");
        Assert.Equal(missed, Bodies(offline));
        var sentAt = DateTimeOffset.Parse(result.GetProperty("sent_at").GetString()!, CultureInfo.InvariantCulture);
        var loggedInAt = DateTimeOffset.Parse(result.GetProperty("logged_in_at").GetString()!, CultureInfo.InvariantCulture);
        foreach (var message in offline.EnumerateArray())
        {
            var stamp = DateTimeOffset.Parse(message.GetProperty("delay").GetString()!, CultureInfo.InvariantCulture);
            // Stamps have whole seconds.
            Assert.InRange(stamp, sentAt.AddSeconds(-1), loggedInAt.AddSeconds(1));
        }

        // The archive has the acknowledged message and the missed ones, once each, under the ids the offline copies carry.
        var archived = result.GetProperty("archive_pages").EnumerateArray().SelectMany(page => page.GetProperty("messages").EnumerateArray()).ToArray();
        Assert.Equal(["before the cut", .. missed], archived.Select(message => message.GetProperty("body").GetString()));
        Assert.Equal(archived[1..].Select(message => message.GetProperty("id").GetString()), Field(offline, "stanza_id"));
    }

    private async Task<JsonElement> RunAsync(string scenario, IReadOnlyDictionary<string, string>? environment = null)
    {
        _node = await ParleyProcess.StartAsync(environment);
        foreach (var user in new[] { "romeo", "juliet" })
        {
            var add = await _node.CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_devices.py");
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(CultureInfo.InvariantCulture), "romeo@localhost", "romeo-secret", "juliet@localhost", "juliet-secret", scenario],
            TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"slixmpp_devices.py {scenario} failed:\n{output}\nnode log:\n{_node.Output}");
        // asyncio may warn about slixmpp's tasks after the result line at exit.
        var resultLine = output.Split('\n').Last(line => line.StartsWith('{'));
        return JsonDocument.Parse(resultLine).RootElement;
    }

    // JSON null becomes "null", so that a missing value fails the comparison with a readable message.
    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(item => item.GetString() ?? "null")];

    private static string[] Field(JsonElement messages, string name) => [.. messages.EnumerateArray().Select(message => message.GetProperty(name).GetString() ?? "null")];

    private static string[] Bodies(JsonElement messages) => Field(messages, "body");
}
