namespace Parley.Server.Administration;

public enum AdministrationOutcome
{
    Done,

    /// <summary>The input breaks a rule (a JID, the password policy); <see cref="AdministrationResult.Problem"/> says which.</summary>
    Refused,

    /// <summary>What is to be created exists already.</summary>
    AlreadyExists,

    /// <summary>What is to be changed is not there.</summary>
    NotFound,
}

/// <summary>How an administrative action ended; each caller words it its own way (an exit code, a stanza error).</summary>
public readonly record struct AdministrationResult(AdministrationOutcome Outcome, string? Problem = null)
{
    public static AdministrationResult Done { get; } = new(AdministrationOutcome.Done);
    public static AdministrationResult AlreadyExists { get; } = new(AdministrationOutcome.AlreadyExists);
    public static AdministrationResult NotFound { get; } = new(AdministrationOutcome.NotFound);

    public static AdministrationResult Refused(string problem) => new(AdministrationOutcome.Refused, problem);
}
