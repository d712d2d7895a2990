namespace Parley.Storage;

public enum CreateAccountResult
{
    Created,

    /// <summary>An account with that JID already existed; it was left untouched.</summary>
    AlreadyExists,
}
