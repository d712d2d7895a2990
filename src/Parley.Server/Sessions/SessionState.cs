using System.Runtime.CompilerServices;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// What one module keeps for each session, held by the module and keyed by the session (carbons, block-list
/// and roster pushes, directed presence, held stanzas). The table holds its sessions weakly: a state goes with
/// its session even when the modules never hear that the session ended (one replaced by a new stream for the
/// same resource); <see cref="ForgetWhenEnded"/> drops it as soon as the session ends.
/// </summary>
public sealed class SessionState<T> where T : class
{
    private readonly ConditionalWeakTable<ClientSession, T> _states = new();
    private readonly ConditionalWeakTable<ClientSession, T>.CreateValueCallback _create;

    /// <param name="create">Makes a session's state the first time <see cref="Of"/> asks for it.</param>
    public SessionState(Func<ClientSession, T> create) => _create = session => create(session);

    /// <summary>The session's state, or null while it has none.</summary>
    public T? Find(ClientSession session) => _states.TryGetValue(session, out var state) ? state : null;

    /// <summary>The session's state, made now if it has none.</summary>
    public T Of(ClientSession session) => _states.GetValue(session, _create);

    /// <summary>Takes the session's state away and returns it (null when it had none).</summary>
    public T? Remove(ClientSession session) =>
        _states.TryGetValue(session, out var state) && _states.Remove(session) ? state : null;

    /// <summary>Drops each session's state when the session ends; for a module that needs nothing from it then.</summary>
    public void ForgetWhenEnded(ModuleRegistry registry) => registry.OnSessionEnded(session =>
    {
        _states.Remove(session);
        return ValueTask.CompletedTask;
    });
}

/// <summary>A yes-or-no a module keeps for each session, no until set (a resource that asked for pushes).</summary>
public sealed class SessionFlags
{
    private static readonly object s_set = new();

    private readonly SessionState<object> _set = new(static _ => s_set);

    /// <summary>What the session keeps while the flag is set, when it survives a resumption elsewhere.</summary>
    private Element? _kept;

    public bool IsSet(ClientSession session) => _set.Find(session) is not null;

    public void Set(ClientSession session)
    {
        if (IsSet(session))
        {
            return;
        }
        _set.Of(session);
        if (_kept is { } kept)
        {
            session.Keep(kept.Name, kept);
        }
    }

    /// <summary>The flag is kept (as &lt;<paramref name="name"/>/&gt;) for a resumption on another node, and set again there.</summary>
    public void KeepOnResumption(ModuleRegistry registry, string name)
    {
        _kept = new Element(name, Ns.Client);
        registry.RestoreOnResumption(name, (session, _) => _set.Of(session));
    }

    /// <inheritdoc cref="SessionState{T}.ForgetWhenEnded"/>
    public void ForgetWhenEnded(ModuleRegistry registry) => _set.ForgetWhenEnded(registry);
}
