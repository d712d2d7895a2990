namespace Parley.Server.ModuleContract;

/// <summary>
/// A feature of the server (a folder under Modules/). <see cref="Register"/> says everything the
/// feature adds: the IQ namespaces it answers, its stanza hooks, its disco features.
/// </summary>
public interface IModule
{
    void Register(ModuleRegistry registry);
}
