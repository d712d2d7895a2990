using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.AdHoc;

/// <summary>Who runs a command, at which of the server's domains, and over which session (for its address).</summary>
public sealed record CommandContext(Jid Requester, string Domain, ClientSession? Session)
{
    /// <summary>Where the request came from, for the audit trail: the client's IP address.</summary>
    public string Origin => Session?.RemoteAddress is { Length: > 0 } address ? address : "unknown";
}

/// <summary>How a command ended: a note to the requester (XEP-0050 §3.4) and, for a command that reports, a result form.</summary>
public sealed record CommandOutcome(string? Note, string NoteType = "info", Element? Form = null)
{
    public static CommandOutcome Info(string note) => new(note);

    public static CommandOutcome Error(string note) => new(note, "error");

    public static CommandOutcome Result(Element form, string? note = null) => new(note, "info", form);
}

/// <summary>
/// A command the server offers over XEP-0050: one stage, a form to fill (or none, when it runs at once) and what
/// submitting it does. <see cref="MayRun"/> says who sees it in disco and may execute it; the others get
/// &lt;forbidden/&gt;.
/// </summary>
public sealed class AdHocCommand
{
    public required string Node { get; init; }
    public required string Name { get; init; }
    public required Func<Jid, ValueTask<bool>> MayRun { get; init; }

    /// <summary>The form to fill (type "form"); null for a command that runs at once with no input.</summary>
    public Func<CommandContext, ValueTask<Element>>? Form { get; init; }

    /// <summary>Runs the command with the submitted values (none for a command without a form).</summary>
    public required Func<CommandContext, IReadOnlyDictionary<string, IReadOnlyList<string>>, ValueTask<CommandOutcome>> Run { get; init; }
}

/// <summary>The commands of the enabled modules; a module adds its own when it registers.</summary>
public sealed class AdHocCommands
{
    private readonly List<AdHocCommand> _commands = [];

    public IReadOnlyList<AdHocCommand> All => _commands;

    public void Add(AdHocCommand command)
    {
        if (Find(command.Node) is not null)
        {
            throw new InvalidOperationException($"Two commands have the node {command.Node}.");
        }
        _commands.Add(command);
    }

    public AdHocCommand? Find(string node)
    {
        foreach (var command in _commands)
        {
            if (command.Node == node)
            {
                return command;
            }
        }
        return null;
    }

    /// <summary>A form of type "form" for a command, with its FORM_TYPE, title and instructions.</summary>
    public static Element NewForm(string formType, string title, string instructions)
    {
        var form = DataForm.Create("form", formType, title);
        form.AddChild("instructions", Ns.DataForms).AddText(instructions);
        return form;
    }
}
