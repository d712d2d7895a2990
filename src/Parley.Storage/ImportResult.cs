namespace Parley.Storage;

/// <param name="Created">Accounts the import created.</param>
/// <param name="AlreadyExisted">Accounts that existed already (or appeared twice in the import); left untouched.</param>
public sealed record ImportResult(int Created, int AlreadyExisted);
