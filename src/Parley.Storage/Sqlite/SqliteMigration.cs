namespace Parley.Storage.Sqlite;

/// <summary>One forward-only schema change; <paramref name="Sql"/> runs in the same transaction that records it.</summary>
internal sealed record SqliteMigration(int Version, string Name, string Sql);
