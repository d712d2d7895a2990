using Microsoft.Extensions.Configuration;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.ModuleContract;

/// <summary>Parley:Modules:&lt;Name&gt;:Enabled: a module switched off is gone from the node, and its dependants are refused.</summary>
public sealed class ModuleSwitchTests
{
    private static ModuleSwitch Off => new() { Enabled = false };

    [Fact]
    public async Task Group_chat_switched_off_is_not_listed_and_a_stanza_to_it_is_answered_at_once()
    {
        await using var node = await TestNode.StartAsync(o => o.Modules["Muc"] = Off);
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password", "balcony");

        await juliet.SendAsync("<iq to='localhost' type='get' id='items'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
        var items = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "items");
        Assert.DoesNotContain(items.Child("query", Ns.DiscoItems)!.Children("item", Ns.DiscoItems), i => i.GetAttribute("jid") == "conference.localhost");

        await juliet.SendAsync("<presence to='team@conference.localhost/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
        var refused = await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "team@conference.localhost/Juliet");
        Assert.Equal("error", refused.GetAttribute("type"));
        Assert.NotNull(refused.Child("error")!.Child("service-unavailable", Ns.Stanzas));

        await juliet.SendAsync("<message to='team@conference.localhost' type='groupchat' id='m1'><body>anyone?</body></message>");
        var bounced = await juliet.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m1");
        Assert.Equal("error", bounced.GetAttribute("type"));
        Assert.NotNull(bounced.Child("error")!.Child("service-unavailable", Ns.Stanzas));
    }

    [Fact]
    public async Task A_module_whose_dependency_is_switched_off_is_refused_at_start_naming_both()
    {
        var error = await Assert.ThrowsAsync<ConfigurationException>(() => TestNode.StartAsync(o => o.Modules["Pep"] = Off));

        Assert.Contains("the module Bookmarks needs the module Pep, which is switched off", error.Message);
    }

    [Fact]
    public async Task Switching_off_the_dependant_too_is_accepted()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Modules["Pep"] = Off;
            o.Modules["Bookmarks"] = Off;
        });
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password");

        await juliet.SendAsync("<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='x'/></publish></pubsub></iq>");
        var answer = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "p1");
        Assert.NotNull(answer.Child("error")!.Child("service-unavailable", Ns.Stanzas));
    }

    [Fact]
    public void The_environments_spelling_switches_a_module_off()
    {
        // What PARLEY__MODULES__MUC__ENABLED=false becomes (ParleyHost.LoadConfiguration), in any case.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Parley:MODULES:MUC:ENABLED", "false")])
            .Build();

        var options = ParleyHost.BindOptions(configuration);

        Assert.False(options.IsEnabled("Muc"));
        Assert.True(options.IsEnabled("Mam"));
    }

    [Fact]
    public void A_mistyped_switch_is_named_with_the_nearest_key()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Parley:Modules:Muc:Enabeld", "false")])
            .Build();

        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(configuration));

        Assert.Equal("Parley:Modules:Muc:Enabeld: unknown key; did you mean Parley:Modules:Muc:Enabled?", error.Message);
    }

    [Fact]
    public void A_module_name_the_node_does_not_know_is_refused_with_the_nearest_name()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Parley:Modules:Mucc:Enabled", "false")])
            .Build();

        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(configuration));

        Assert.StartsWith("Parley:Modules:Mucc: no such module; did you mean Muc?", error.Message);
    }
}
