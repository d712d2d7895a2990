using Parley.Protocol;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Administration;

/// <summary>A disabled account keeps its data and cannot sign in; its sessions end; enabled again, it signs in as before.</summary>
public sealed class AccountDisablingTests
{
    private const string Alice = "alice@localhost";

    [Fact]
    public async Task Disabling_with_the_cli_ends_the_session_and_refuses_sign_in_with_account_disabled_until_enabled()
    {
        await using var node = await TestNode.StartAsync(options => options.Storage.NoticePollMilliseconds = 50);
        await node.CreateUserAsync("alice", "alice-password");
        await using var online = await XmppTestClient.LoginAsync(node, "alice", "alice-password");

        await NodeNoticeTests.ParleyAsync(node, "user", "disable", Alice);

        Assert.Equal("not-authorized", await online.ExpectStreamErrorAsync());
        Assert.Equal("account-disabled", await SignInAsync(node, "alice-password"));
        Assert.True(await node.Accounts.ExistsAsync(Alice));

        await NodeNoticeTests.ParleyAsync(node, "user", "enable", Alice);

        Assert.Equal("success", await SignInAsync(node, "alice-password"));
    }

    [Fact]
    public async Task A_wrong_password_for_a_disabled_account_does_not_tell_that_it_is_disabled()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("alice", "alice-password");
        await node.Accounts.SetDisabledAsync(Alice, disabled: true);

        Assert.Equal("not-authorized", await SignInAsync(node, "wrong-password"));
    }

    /// <summary>The SASL outcome: "success", or the failure's condition.</summary>
    private static async Task<string> SignInAsync(TestNode node, string password)
    {
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var outcome = await client.TryAuthenticateAsync("alice", password);
        return outcome.Name == "success" ? "success" : outcome.Children().First(c => c.Namespace == Ns.Sasl).Name;
    }
}
