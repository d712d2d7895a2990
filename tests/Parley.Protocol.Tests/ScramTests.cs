using System.Security.Authentication;
using Parley.Protocol.Sasl;
using static Parley.Protocol.Tests.Sasl;

namespace Parley.Protocol.Tests;

public class ScramTests
{
    private static readonly byte[] s_tlsExporter = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    private static byte[]? TlsExporterOnly(string cbType) => cbType == "tls-exporter" ? s_tlsExporter : null;

    public static TheoryData<ScramHash, string, string, string, string, string, string, string> RfcVectors() => new()
    {
        // RFC 5802 §5.
        {
            ScramHash.Sha1, "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92",
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
        },
        // RFC 7677 §3.
        {
            ScramHash.Sha256, "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "W22ZaJ0SNY7soEsUEjb6gQ==",
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        },
    };

    [Theory]
    [MemberData(nameof(RfcVectors))]
    public async Task Client_and_server_reproduce_the_RFC_exchange(
        ScramHash hash, string clientNonce, string serverNonce, string salt,
        string clientFirst, string serverFirst, string clientFinal, string serverFinal)
    {
        var store = new CredentialStore().Add("user", ScramCredentialFactory.Derive(hash, "pencil", Convert.FromBase64String(salt), 4096));
        var server = new ScramServer(hash, plus: false, store.Lookup, channelBinding: null, serverOffersPlus: false, fixedServerNonce: serverNonce);
        var client = new ScramClient(hash, "user", (s, i) => ScramClient.SaltedPassword(hash, "pencil", s, i), null, null, false, clientNonce);

        byte[] sentFirst = client.ClientFirst();
        SaslStep challenge = await StepAsync(server, sentFirst);
        byte[] sentFinal = client.ClientFinal(challenge.Data);
        SaslStep success = await StepAsync(server, sentFinal);

        Assert.Equal(clientFirst, Text(sentFirst));
        Assert.Equal(SaslOutcome.Challenge, challenge.Outcome);
        Assert.Equal(serverFirst, Text(challenge.Data));
        Assert.Equal(clientFinal, Text(sentFinal));
        Assert.Equal(SaslOutcome.Success, success.Outcome);
        Assert.Equal(serverFinal, Text(success.Data));
        Assert.True(client.VerifyServerFinal(success.Data));
        Assert.Equal("user", server.AuthenticatedUser);
        Assert.Null(server.AuthorizationId);
    }

    [Fact]
    public void Client_rejects_a_wrong_or_missing_server_signature()
    {
        var client = new ScramClient(ScramHash.Sha1, "user", (s, i) => ScramClient.SaltedPassword(ScramHash.Sha1, "pencil", s, i), null, null, false, "fyko+d2lbbFgONRv9qkxdawL");
        client.ClientFirst();
        client.ClientFinal(Bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"));

        Assert.False(client.VerifyServerFinal(Bytes("v=RmF9pqV8S7suAoZWja4dJRkFsKQ=")));
        Assert.False(client.VerifyServerFinal(Bytes("e=invalid-proof")));
        Assert.False(client.VerifyServerFinal(Bytes("v=")));
        Assert.True(client.VerifyServerFinal(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")));
    }

    [Theory]
    [InlineData(ScramHash.Sha1, "SCRAM-SHA-1")]
    [InlineData(ScramHash.Sha256, "SCRAM-SHA-256")]
    public async Task Client_and_server_agree_without_channel_binding(ScramHash hash, string mechanism)
    {
        var store = new CredentialStore().Add("juliet", "r0m€o & me");
        var server = new ScramServer(hash, plus: false, store.Lookup, channelBinding: null, serverOffersPlus: false);
        var client = new ScramClient(hash, "Juliet", "r0m€o & me");

        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.Equal(mechanism, server.Name);
        Assert.Equal(mechanism, client.MechanismName);
        Assert.Equal([SaslOutcome.Challenge, SaslOutcome.Success], steps.Select(step => step.Outcome));
        Assert.True(client.VerifyServerFinal(steps[^1].Data));
        Assert.Equal("juliet", server.AuthenticatedUser);
    }

    [Theory]
    [InlineData(ScramHash.Sha1, "SCRAM-SHA-1-PLUS")]
    [InlineData(ScramHash.Sha256, "SCRAM-SHA-256-PLUS")]
    public async Task Client_and_server_agree_with_channel_binding(ScramHash hash, string mechanism)
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(hash, plus: true, store.Lookup, TlsExporterOnly, serverOffersPlus: true);
        var client = new ScramClient(hash, "juliet", "secret", "tls-exporter", s_tlsExporter, serverOffersPlus: true);

        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.Equal(mechanism, server.Name);
        Assert.Equal(mechanism, client.MechanismName);
        Assert.Equal(SaslOutcome.Success, steps[^1].Outcome);
        Assert.True(client.VerifyServerFinal(steps[^1].Data));
    }

    [Fact]
    public async Task Channel_binding_data_of_another_connection_is_refused()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, plus: true, store.Lookup, TlsExporterOnly, serverOffersPlus: true);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret", "tls-exporter", [9, 9, 9], serverOffersPlus: true);

        List<SaslStep> steps = await ExchangeAsync(client, server);

        AssertFailure(steps[^1], SaslCondition.NotAuthorized);
        Assert.Null(server.AuthenticatedUser);
    }

    [Fact]
    public async Task A_channel_binding_type_the_connection_cannot_provide_is_refused()
    {
        var server = new ScramServer(ScramHash.Sha256, plus: true, new CredentialStore().Add("juliet", "secret").Lookup, TlsExporterOnly, serverOffersPlus: true);

        AssertFailure(await StepAsync(server, "p=tls-unique,,n=juliet,r=abcdef"), SaslCondition.NotAuthorized);
    }

    [Fact]
    public async Task A_PLUS_mechanism_without_channel_binding_is_refused()
    {
        var server = new ScramServer(ScramHash.Sha256, plus: true, new CredentialStore().Lookup, TlsExporterOnly, serverOffersPlus: true);

        AssertFailure(await StepAsync(server, "n,,n=juliet,r=abcdef"), SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task Channel_binding_on_a_non_PLUS_mechanism_is_refused()
    {
        var server = new ScramServer(ScramHash.Sha256, plus: false, new CredentialStore().Lookup, TlsExporterOnly, serverOffersPlus: true);

        AssertFailure(await StepAsync(server, "p=tls-exporter,,n=juliet,r=abcdef"), SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task A_client_that_thinks_the_server_lacks_PLUS_when_it_offers_it_is_refused_as_a_downgrade()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        // A man in the middle removed -PLUS from the features the client saw.
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret", "tls-exporter", s_tlsExporter, serverOffersPlus: false);
        var server = new ScramServer(ScramHash.Sha256, plus: false, store.Lookup, TlsExporterOnly, serverOffersPlus: true);

        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.StartsWith("y,,", Text(client.ClientFirst()), StringComparison.Ordinal);
        Assert.Single(steps);
        AssertFailure(steps[0], SaslCondition.NotAuthorized);
    }

    [Fact]
    public async Task A_client_saying_y_succeeds_when_the_server_really_offers_no_PLUS()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret", "tls-exporter", s_tlsExporter, serverOffersPlus: false);
        var server = new ScramServer(ScramHash.Sha256, plus: false, store.Lookup, channelBinding: null, serverOffersPlus: false);

        Assert.Equal(SaslOutcome.Success, (await ExchangeAsync(client, server))[^1].Outcome);
    }

    [Fact]
    public async Task A_wrong_password_fails_with_not_authorized()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, plus: false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "Secret");

        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.Equal(2, steps.Count);
        AssertFailure(steps[^1], SaslCondition.NotAuthorized);
        Assert.Null(server.AuthenticatedUser);
    }

    [Fact]
    public async Task An_unknown_user_gets_the_same_exchange_and_the_same_failure_as_a_wrong_password()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var wrongPassword = await ExchangeAsync(new ScramClient(ScramHash.Sha256, "juliet", "guess"), new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false));
        var unknownUser = await ExchangeAsync(new ScramClient(ScramHash.Sha256, "nobody", "guess"), new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false));
        var unknownAgain = await ExchangeAsync(new ScramClient(ScramHash.Sha256, "nobody", "guess"), new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false));

        Assert.Equal(wrongPassword.Count, unknownUser.Count);
        Assert.Equal(wrongPassword[^1], unknownUser[^1]);
        // The challenge has the same shape (salt, i=4096), and asking twice gives the same salt.
        Assert.Matches("^r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=4096$", Text(unknownUser[0].Data));
        Assert.Equal(SaltAndIterations(unknownUser[0]), SaltAndIterations(unknownAgain[0]));
    }

    private static string SaltAndIterations(SaslStep serverFirst)
    {
        string text = Text(serverFirst.Data);
        return text[text.IndexOf(",s=", StringComparison.Ordinal)..];
    }

    [Fact]
    public async Task The_iteration_count_comes_from_the_stored_credentials()
    {
        var store = new CredentialStore().Add("juliet", "secret", iterations: 5000);
        var server = new ScramServer(ScramHash.Sha1, false, store.Lookup, null, false);

        SaslStep challenge = await StepAsync(server, "n,,n=juliet,r=abcdef");

        Assert.EndsWith(",i=5000", Text(challenge.Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tampered_proof_fails_with_not_authorized()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret");
        SaslStep challenge = await StepAsync(server, client.ClientFirst());
        string clientFinal = Text(client.ClientFinal(challenge.Data));
        int proofStart = clientFinal.IndexOf(",p=", StringComparison.Ordinal) + 3;
        byte[] proof = Convert.FromBase64String(clientFinal[proofStart..]);
        proof[0] ^= 1;

        SaslStep result = await StepAsync(server, clientFinal[..proofStart] + Convert.ToBase64String(proof));

        AssertFailure(result, SaslCondition.NotAuthorized);
    }

    [Fact]
    public async Task A_client_final_with_another_nonce_fails()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret");
        SaslStep challenge = await StepAsync(server, client.ClientFirst());
        string clientFinal = Text(client.ClientFinal(challenge.Data));

        SaslStep result = await StepAsync(server, clientFinal.Replace(",r=", ",r=x", StringComparison.Ordinal));

        AssertFailure(result, SaslCondition.NotAuthorized);
        Assert.Contains("nonce", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x,,n=juliet,r=abcdef")]
    [InlineData("n,n=juliet,r=abcdef")]
    [InlineData("n")]
    [InlineData("p=,,n=juliet,r=abcdef")]
    [InlineData("p=tls exporter,,n=juliet,r=abcdef")]
    [InlineData("n,b=admin,n=juliet,r=abcdef")]
    [InlineData("n,a=ad=min,n=juliet,r=abcdef")]
    [InlineData("n,,r=abcdef")]
    [InlineData("n,,n=,r=abcdef")]
    [InlineData("n,,n=jul=iet,r=abcdef")]
    [InlineData("n,,n=jul=2Ciet=3,r=abcdef")]
    [InlineData("n,,n=juliet")]
    [InlineData("n,,n=juliet,r=")]
    [InlineData("n,,n=juliet,r=abc\u0001def")]
    [InlineData("n,,n=juliet,r=abcdéf")]
    [InlineData("n,,m=extension,n=juliet,r=abcdef")]
    [InlineData("n,,n=juliet,r=abcdef,garbage")]
    public async Task A_malformed_client_first_message_fails_with_malformed_request(string clientFirst)
    {
        var server = new ScramServer(ScramHash.Sha256, false, new CredentialStore().Add("juliet", "secret").Lookup, null, false);

        AssertFailure(await StepAsync(server, clientFirst), SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task Invalid_UTF8_fails_with_malformed_request()
    {
        var server = new ScramServer(ScramHash.Sha256, false, new CredentialStore().Lookup, null, false);

        AssertFailure(await StepAsync(server, [(byte)'n', (byte)',', (byte)',', 0xFF, 0xFE]), SaslCondition.MalformedRequest);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("c=biws,r={nonce}")]
    [InlineData("r={nonce},c=biws,p=AAAA")]
    [InlineData("c=!!!!,r={nonce},p={proof}")]
    [InlineData("c=biws,p={proof}")]
    [InlineData("c=biws,r={nonce},p=not base64")]
    [InlineData("c=biws,r={nonce},p=AAAA")]
    [InlineData("c=biws,r={nonce},x,p={proof}")]
    public async Task A_malformed_client_final_message_fails_with_malformed_request(string template)
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret");
        string serverFirst = Text((await StepAsync(server, client.ClientFirst())).Data);
        string nonce = serverFirst[2..serverFirst.IndexOf(',', StringComparison.Ordinal)];
        string proof = Convert.ToBase64String(new byte[32]);

        SaslStep result = await StepAsync(server, template.Replace("{nonce}", nonce, StringComparison.Ordinal).Replace("{proof}", proof, StringComparison.Ordinal));

        AssertFailure(result, SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task A_client_without_initial_response_gets_one_empty_challenge()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "juliet", "secret");

        SaslStep empty = await StepAsync(server, []);
        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.Equal(SaslOutcome.Challenge, empty.Outcome);
        Assert.Empty(empty.Data!);
        Assert.Equal(SaslOutcome.Success, steps[^1].Outcome);
    }

    [Fact]
    public async Task A_step_after_the_exchange_has_finished_fails()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        await ExchangeAsync(new ScramClient(ScramHash.Sha256, "juliet", "secret"), server);

        AssertFailure(await StepAsync(server, "c=biws"), SaslCondition.MalformedRequest);
    }

    [Fact]
    public async Task Escaped_usernames_and_the_authorization_identity_are_decoded()
    {
        var store = new CredentialStore().Add("a,b=c", "secret");
        var server = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        var client = new ScramClient(ScramHash.Sha256, "a,b=c", "secret");

        List<SaslStep> steps = await ExchangeAsync(client, server);

        Assert.Contains("n=a=2Cb=3Dc,", Text(client.ClientFirst()), StringComparison.Ordinal);
        Assert.Equal(SaslOutcome.Success, steps[^1].Outcome);
        Assert.Equal("a,b=c", server.AuthenticatedUser);

        var withAuthzid = new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false);
        Assert.Equal(SaslOutcome.Challenge, (await StepAsync(withAuthzid, "n,a=admin@example.com=2Cx,n=a=2Cb=3Dc,r=abcdef")).Outcome);
        Assert.Equal("admin@example.com,x", withAuthzid.AuthorizationId);
    }

    [Theory]
    [InlineData("r=someone-else,s=QSXCR+Q6sek8bf92,i=4096", typeof(AuthenticationException))]
    [InlineData("r={nonce}xyz,s=QSXCR+Q6sek8bf92,i=1000", typeof(AuthenticationException))]
    [InlineData("e=other-error", typeof(AuthenticationException))]
    [InlineData("r={nonce},s=QSXCR+Q6sek8bf92,i=4096", typeof(AuthenticationException))]
    [InlineData("r={nonce}xyz,s=!!!,i=4096", typeof(FormatException))]
    [InlineData("r={nonce}xyz,i=4096", typeof(FormatException))]
    [InlineData("r={nonce}xyz,s=QSXCR+Q6sek8bf92,i=-4096", typeof(FormatException))]
    [InlineData("r={nonce}xyz,s=QSXCR+Q6sek8bf92", typeof(FormatException))]
    [InlineData("garbage", typeof(FormatException))]
    public void Client_refuses_a_bad_server_first_message(string template, Type exceptionType)
    {
        var client = new ScramClient(ScramHash.Sha1, "user", (_, _) => new byte[20], null, null, false, "fyko");
        client.ClientFirst();

        Exception exception = Assert.ThrowsAny<Exception>(() => client.ClientFinal(Bytes(template.Replace("{nonce}", "fyko", StringComparison.Ordinal))));

        Assert.IsType(exceptionType, exception);
    }

    [Fact]
    public async Task Client_can_reuse_a_precomputed_salted_password()
    {
        var store = new CredentialStore().Add("juliet", "secret");
        var cache = new Dictionary<(string, int), byte[]>();
        int derivations = 0;
        byte[] SaltedPassword(byte[] salt, int iterations)
        {
            (string, int) key = (Convert.ToBase64String(salt), iterations);
            if (!cache.TryGetValue(key, out byte[]? value))
            {
                derivations++;
                cache[key] = value = ScramClient.SaltedPassword(ScramHash.Sha256, "secret", salt, iterations);
            }

            return value;
        }

        for (int login = 0; login < 3; login++)
        {
            var client = new ScramClient(ScramHash.Sha256, "juliet", SaltedPassword);
            List<SaslStep> steps = await ExchangeAsync(client, new ScramServer(ScramHash.Sha256, false, store.Lookup, null, false));
            Assert.True(client.VerifyServerFinal(steps[^1].Data));
        }

        Assert.Equal(1, derivations);
    }

    [Fact]
    public void Credentials_are_derived_from_the_prepared_password()
    {
        byte[] salt = Convert.FromBase64String("QSXCR+Q6sek8bf92");

        ScramCredentials fullwidthSpace = ScramCredentialFactory.Derive(ScramHash.Sha256, "pen\u3000cil", salt, 4096);
        ScramCredentials asciiSpace = ScramCredentialFactory.Derive(ScramHash.Sha256, "pen cil", salt, 4096);
        ScramCredentials created = ScramCredentialFactory.Create(ScramHash.Sha1, "pencil");

        Assert.Equal(asciiSpace.StoredKey, fullwidthSpace.StoredKey);
        Assert.Equal(16, created.Salt.Length);
        Assert.Equal(4096, created.Iterations);
        Assert.Equal(20, created.StoredKey.Length);
        Assert.Throws<ArgumentException>(() => ScramCredentialFactory.Create(ScramHash.Sha256, ""));
        Assert.Throws<ArgumentException>(() => ScramCredentialFactory.Create(ScramHash.Sha256, "bell\u0007"));
    }
}
