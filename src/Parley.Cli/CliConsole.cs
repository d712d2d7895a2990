using System.Text;

namespace Parley.Cli;

/// <summary>The standard streams a command uses; tests give their own.</summary>
public sealed class CliConsole(TextReader input, TextWriter output, TextWriter error, bool inputIsTerminal = false, bool outputIsTerminal = false)
{
    /// <summary>The process's console.</summary>
    public static CliConsole System => new(
        Console.In, Console.Out, Console.Error, inputIsTerminal: !Console.IsInputRedirected, outputIsTerminal: !Console.IsOutputRedirected);

    /// <summary>Whether a person watches the output (progress bars), rather than a file or a pipe (plain lines).</summary>
    public bool OutputIsTerminal { get; } = outputIsTerminal;

    public TextReader Input { get; } = input;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>
    /// A password from standard input: one line when it is a file or a pipe, else typed at a prompt without echo
    /// and asked twice, so that a typo does not become the password. Null at end of input.
    /// </summary>
    /// <exception cref="CliException">The two typed passwords differ.</exception>
    public string? ReadPassword()
    {
        if (!inputIsTerminal)
        {
            return Input.ReadLine();
        }

        var first = ReadKeysWithoutEcho("Password: ");
        var second = ReadKeysWithoutEcho("Password (again): ");
        return first == second ? first : throw new CliException(ExitCodes.Usage, "the two passwords differ; nothing changed.");
    }

    private string ReadKeysWithoutEcho(string prompt)
    {
        Error.Write(prompt);
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (typed.Length > 0)
                {
                    typed.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        Error.WriteLine();
        return typed.ToString();
    }
}
