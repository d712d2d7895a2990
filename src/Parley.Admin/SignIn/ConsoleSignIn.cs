using System.Text;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Server.Hosting;

namespace Parley.Admin.SignIn;

/// <summary>The outcome of a sign-in form: the account when the password was right, else what to tell the person.</summary>
public sealed record SignInResult(Jid? Account, string? Problem);

/// <summary>
/// Checks a name and password typed into the console's sign-in form exactly as an XMPP login checks them: PLAIN on
/// the node's authentication backend (the SCRAM credentials of local accounts, or the directory's bind), with the
/// same growing delay after each wrong password (<see cref="AuthThrottle"/>, shared with XMPP logins, so guessing on
/// the console and on port 5222 counts together). Whether the account is an administrator is asked on every request
/// afterwards (<see cref="AdministratorHandler"/>), not here.
/// </summary>
public sealed partial class ConsoleSignIn(ParleyOptions options, IAuthenticationBackend backend, AuthThrottle throttle, ILogger<ConsoleSignIn> logger)
{
    private const string WrongPassword = "The name or the password is wrong.";

    /// <param name="name">"alice@example.com", or "alice" in the node's first domain.</param>
    public async Task<SignInResult> CheckAsync(string name, string password, string remoteAddress, bool isSecure, CancellationToken cancellationToken)
    {
        name = name.Trim();
        if (!Jid.TryParse(name.Contains('@', StringComparison.Ordinal) ? name : $"{name}@{options.EffectiveDomains[0]}", out var account)
            || account.Local is null || !account.IsBare || !options.EffectiveDomains.Contains(account.Domain))
        {
            return await RefuseAsync(null, remoteAddress, cancellationToken).ConfigureAwait(false);
        }
        var context = new AuthenticationContext(account.Domain, remoteAddress, isSecure);
        var mechanism = backend.Start("PLAIN", context);
        SaslStep step;
        try
        {
            step = await mechanism.StepAsync(Encoding.UTF8.GetBytes($"\0{account.Local}\0{password}"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCheckFailed(logger, e, account.ToString());
            return new SignInResult(null, "The account could not be checked; try again later.");
        }
        if (step.Outcome != SaslOutcome.Success)
        {
            return await RefuseAsync(context.AttemptedAccount ?? account.ToString(), remoteAddress, cancellationToken).ConfigureAwait(false);
        }
        if (context.AccountDisabled)
        {
            LogRefused(logger, account.ToString(), remoteAddress, "the account is disabled");
            return new SignInResult(null, "This account is disabled.");
        }
        throttle.RecordSuccess(account.ToString());
        LogSignedIn(logger, account.ToString(), remoteAddress);
        return new SignInResult(account, null);
    }

    private async Task<SignInResult> RefuseAsync(string? account, string remoteAddress, CancellationToken cancellationToken)
    {
        LogRefused(logger, account ?? "(no such account)", remoteAddress, "wrong name or password");
        await Task.Delay(throttle.RecordFailure(account, remoteAddress), cancellationToken).ConfigureAwait(false);
        return new SignInResult(null, WrongPassword);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Console: {Account} signed in from {Address}")]
    private static partial void LogSignedIn(ILogger logger, string account, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console: sign-in as {Account} from {Address} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string account, string address, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Console: the password of {Account} could not be checked")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string account);
}
