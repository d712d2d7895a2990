using Parley.Ldap;
using Parley.Server.ModuleContract;

namespace Parley.Server.Modules.Ldap;

/// <summary>Parley:Directory, as the Directory module owns it; the keys are <see cref="DirectoryOptions"/>'s.</summary>
public sealed class DirectoryModuleOptions : DirectoryOptions, IModuleOptions;
