using Parley.Xml;

namespace Parley.Protocol.Forms;

/// <summary>The field types of XEP-0004 §3.3.</summary>
public static class FieldType
{
    public const string Boolean = "boolean";
    public const string Fixed = "fixed";
    public const string Hidden = "hidden";
    public const string JidMulti = "jid-multi";
    public const string JidSingle = "jid-single";
    public const string ListMulti = "list-multi";
    public const string ListSingle = "list-single";
    public const string TextMulti = "text-multi";
    public const string TextPrivate = "text-private";
    public const string TextSingle = "text-single";
}

/// <summary>One field of a received form, as written: its var (null when it has none), its type (when given) and its values in order.</summary>
public readonly record struct FormField(string? Var, string? Type, IReadOnlyList<string> Values)
{
    /// <summary>The first value, or null when the field has none.</summary>
    public string? FirstValue => Values.Count > 0 ? Values[0] : null;
}

/// <summary>
/// XEP-0004 data forms: building a form (form, submit or result) with typed, labelled fields and options,
/// and reading the fields of a received one. Every module that speaks forms uses this.
/// </summary>
public static class DataForm
{
    /// <summary>The hidden field that says which kind of form this is (XEP-0068).</summary>
    public const string FormTypeVar = "FORM_TYPE";

    /// <summary>Whether the element is an &lt;x xmlns='jabber:x:data'/&gt;.</summary>
    public static bool IsForm(Element? element) => element is { Name: "x", Namespace: Ns.DataForms };

    /// <summary>The first data form among the element's children, or null.</summary>
    public static Element? Find(Element parent) => parent.Child("x", Ns.DataForms);

    /// <summary>Every data form among the element's children (XEP-0128 puts several in one disco#info).</summary>
    public static IEnumerable<Element> FindAll(Element parent) => parent.Children("x", Ns.DataForms);

    /// <summary>A new form of <paramref name="type"/> (form, submit, cancel or result), with its title and hidden FORM_TYPE when given.</summary>
    public static Element Create(string type, string? formType = null, string? title = null)
    {
        var form = new Element("x", Ns.DataForms).SetAttribute("type", type);
        if (title is not null)
        {
            form.AddChild("title", Ns.DataForms).AddText(title);
        }
        if (formType is not null)
        {
            AddField(form, FormTypeVar, FieldType.Hidden, null, formType);
        }
        return form;
    }

    /// <summary>Adds a field with its values in order; a null type or label is left out. Returns the field, for options.</summary>
    public static Element AddField(Element form, string var, string? type = null, string? label = null, params IEnumerable<string> values)
    {
        var field = form.AddChild("field", Ns.DataForms).SetAttribute("var", var).SetAttribute("type", type).SetAttribute("label", label);
        foreach (var value in values)
        {
            field.AddChild("value", Ns.DataForms).AddText(value);
        }
        return field;
    }

    /// <summary>Adds an option to a list field; a null label is left out.</summary>
    public static Element AddOption(Element field, string value, string? label = null)
    {
        field.AddChild("option", Ns.DataForms).SetAttribute("label", label).AddChild("value", Ns.DataForms).AddText(value);
        return field;
    }

    /// <summary>Marks a field as one the submitter must fill in.</summary>
    public static Element Require(Element field)
    {
        field.AddChild("required", Ns.DataForms);
        return field;
    }

    /// <summary>Removes every field named <paramref name="var"/>.</summary>
    public static void RemoveField(Element form, string var)
    {
        foreach (var field in form.Children("field", Ns.DataForms).Where(field => field.GetAttribute("var") == var).ToList())
        {
            form.Remove(field);
        }
    }

    /// <summary>The fields of a form in the order written, a field given twice twice, with or without a var.</summary>
    public static IEnumerable<FormField> Fields(Element form)
    {
        foreach (var field in form.Children("field", Ns.DataForms))
        {
            var values = new List<string>();
            foreach (var value in field.Children("value", Ns.DataForms))
            {
                values.Add(value.Text);
            }
            yield return new FormField(field.GetAttribute("var"), field.GetAttribute("type"), values);
        }
    }

    /// <summary>
    /// The fields of a form by var, each with its values in order, in the order written. A field without a var
    /// is skipped; a field given twice keeps its last values.
    /// </summary>
    public static Dictionary<string, IReadOnlyList<string>> Values(Element form)
    {
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var field in Fields(form))
        {
            if (field.Var is { } var)
            {
                values[var] = field.Values;
            }
        }
        return values;
    }

    /// <summary>The <see cref="Values(Element)"/> of the element, or null when it is not a data form.</summary>
    public static Dictionary<string, IReadOnlyList<string>>? Read(Element? element) => IsForm(element) ? Values(element!) : null;

    /// <summary>The form's FORM_TYPE (its first value), or null.</summary>
    public static string? FormType(Element form) => FormType(Values(form));

    /// <summary>The FORM_TYPE (its first value) of read values, or null.</summary>
    public static string? FormType(IReadOnlyDictionary<string, IReadOnlyList<string>> values) =>
        values.GetValueOrDefault(FormTypeVar) is [var formType, ..] ? formType : null;

    /// <summary>Whether read values have exactly one FORM_TYPE and it is <paramref name="formType"/>.</summary>
    public static bool HasFormType(IReadOnlyDictionary<string, IReadOnlyList<string>> values, string formType) =>
        values.GetValueOrDefault(FormTypeVar) is [var only] && only == formType;

    /// <summary>XEP-0004 §3.3 booleans: "1"/"true" and "0"/"false", nothing else.</summary>
    public static bool TryParseBoolean(string value, out bool result)
    {
        result = value is "1" or "true";
        return result || value is "0" or "false";
    }

    /// <summary>A boolean as forms write it: "1" or "0".</summary>
    public static string Boolean(bool value) => value ? "1" : "0";
}
