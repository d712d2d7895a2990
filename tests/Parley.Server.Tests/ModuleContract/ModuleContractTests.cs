using Microsoft.Extensions.Configuration;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.ModuleContract;

/// <summary>A module of the test's own plugs in through the contract alone: its IQ, features and options.</summary>
public sealed class ModuleContractTests
{
    private static readonly IReadOnlyList<ModuleDefinition> WithGreeter = [.. BuiltInModules.All, GreeterModule.Definition];

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Fact]
    public void The_modules_section_is_bound_into_the_options_it_declared()
    {
        var options = ParleyHost.BindOptions(Configuration(("Parley:Greeter:Greeting", "Good morning"), ("Parley:Greeter:Times", "3")), WithGreeter);

        Assert.Equal("Good morning", options.Module<GreeterOptions>().Greeting);
        Assert.Equal(3, options.Module<GreeterOptions>().Times);
    }

    [Fact]
    public void A_value_the_module_refuses_is_named_by_its_full_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(Configuration(("Parley:Greeter:Times", "42")), WithGreeter));
        Assert.Equal("Parley:Greeter:Times: must be from 1 to 10.", error.Message);
    }

    [Fact]
    public void A_mistyped_key_of_the_modules_section_gets_the_nearest_one()
    {
        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(Configuration(("Parley:Greeter:Tims", "2")), WithGreeter));
        Assert.Equal("Parley:Greeter:Tims: unknown key; did you mean Parley:Greeter:Times?", error.Message);
    }

    [Fact]
    public void A_section_of_a_module_the_node_does_not_know_is_an_unknown_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(Configuration(("Parley:Greeter:Times", "2"))));
        Assert.StartsWith("Parley:Greeter: unknown key", error.Message);
    }

    [Fact]
    public async Task The_node_offers_and_answers_what_the_module_registered()
    {
        await using var node = await TestNode.StartAsync(o => o.Module<GreeterOptions>().Greeting = "Hello from the test", modules: WithGreeter);
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();

        var features = await client.AuthenticateAsync("juliet", "juliet-password");
        Assert.NotNull(features.Child("greeter", GreeterModule.Namespace));
        await client.BindAsync();

        await client.SendAsync("<iq to='localhost' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var info = await client.ReceiveAsync(e => e.GetAttribute("id") == "d1");
        Assert.Contains(info.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == GreeterModule.Namespace);

        await client.SendAsync($"<iq to='localhost' type='get' id='g1'><greet xmlns='{GreeterModule.Namespace}'/></iq>");
        var greeting = await client.ReceiveAsync(e => e.GetAttribute("id") == "g1");
        Assert.Equal("result", greeting.GetAttribute("type"));
        Assert.Equal("Hello from the test", greeting.ChildText("greeting", GreeterModule.Namespace));
    }

    [Fact]
    public async Task Switched_off_the_module_is_neither_offered_nor_answered()
    {
        await using var node = await TestNode.StartAsync(o => o.Modules["Greeter"] = new ModuleSwitch { Enabled = false }, modules: WithGreeter);
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();

        var features = await client.AuthenticateAsync("juliet", "juliet-password");
        Assert.Null(features.Child("greeter", GreeterModule.Namespace));
        await client.BindAsync();

        await client.SendAsync($"<iq to='localhost' type='get' id='g1'><greet xmlns='{GreeterModule.Namespace}'/></iq>");
        var answer = await client.ReceiveAsync(e => e.GetAttribute("id") == "g1");
        Assert.Equal("error", answer.GetAttribute("type"));
        Assert.NotNull(answer.Child("error")!.Child("service-unavailable", Ns.Stanzas));
    }
}
