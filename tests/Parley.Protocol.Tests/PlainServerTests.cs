using Parley.Protocol.Sasl;
using static Parley.Protocol.Tests.Sasl;

namespace Parley.Protocol.Tests;

public class PlainServerTests
{
    private readonly CredentialStore _store = new CredentialStore().Add("juliet", "r0m€o & me");

    [Fact]
    public async Task The_right_password_succeeds_with_the_prepared_username()
    {
        var server = new PlainServer(_store.Lookup);

        SaslStep step = await StepAsync(server, "\0Juliet\0r0m€o & me");

        Assert.Equal(SaslOutcome.Success, step.Outcome);
        Assert.Equal("PLAIN", server.Name);
        Assert.Equal("juliet", server.AuthenticatedUser);
        Assert.Null(server.AuthorizationId);
    }

    [Fact]
    public async Task The_authorization_identity_is_reported()
    {
        var server = new PlainServer(_store.Lookup);

        SaslStep step = await StepAsync(server, "admin@example.com\0juliet\0r0m€o & me");

        Assert.Equal(SaslOutcome.Success, step.Outcome);
        Assert.Equal("admin@example.com", server.AuthorizationId);
    }

    [Theory]
    [InlineData("\0juliet\0R0m€o & me")]
    [InlineData("\0nobody\0r0m€o & me")]
    [InlineData("\0jul:iet\0r0m€o & me")]
    [InlineData("\0juliet\0bell\u0007")]
    public async Task A_wrong_password_or_unknown_user_fails_alike_with_not_authorized(string message)
    {
        var server = new PlainServer(_store.Lookup);

        SaslStep step = await StepAsync(server, message);

        AssertFailure(step, SaslCondition.NotAuthorized);
        Assert.Equal("The username or password is wrong.", step.Text);
        Assert.Null(server.AuthenticatedUser);
    }

    [Theory]
    [InlineData("julietsecret")]
    [InlineData("juliet\0secret")]
    [InlineData("\0juliet\0")]
    [InlineData("\0\0secret")]
    [InlineData("a\0juliet\0secret\0more")]
    public async Task A_malformed_message_fails_with_malformed_request(string message)
    {
        var server = new PlainServer(_store.Lookup);

        AssertFailure(await StepAsync(server, message), SaslCondition.MalformedRequest);
        Assert.Equal(0, _store.Lookups);
    }

    [Fact]
    public async Task Invalid_UTF8_fails_with_malformed_request()
    {
        AssertFailure(await StepAsync(new PlainServer(_store.Lookup), [0, (byte)'j', 0, 0xC3]), SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task An_empty_initial_response_gets_one_empty_challenge_then_the_credentials()
    {
        var server = new PlainServer(_store.Lookup);

        SaslStep challenge = await StepAsync(server, []);
        SaslStep success = await StepAsync(server, "\0juliet\0r0m€o & me");
        SaslStep afterwards = await StepAsync(server, "\0juliet\0r0m€o & me");

        Assert.Equal(SaslOutcome.Challenge, challenge.Outcome);
        Assert.Equal(SaslOutcome.Success, success.Outcome);
        AssertFailure(afterwards, SaslCondition.MalformedRequest);
    }
}
