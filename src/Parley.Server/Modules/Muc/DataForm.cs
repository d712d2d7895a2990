using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>Just enough of XEP-0004 data forms for the MUC forms: reading submitted values and building forms.</summary>
public static class DataForm
{
    public static Element Create(string type, string formType, string? title = null)
    {
        var form = new Element("x", Ns.DataForms).SetAttribute("type", type);
        if (title is not null)
        {
            form.AddChild("title", Ns.DataForms).AddText(title);
        }
        AddField(form, "FORM_TYPE", "hidden", null, formType);
        return form;
    }

    public static Element AddField(Element form, string var, string? type, string? label, params string[] values)
    {
        var field = form.AddChild("field", Ns.DataForms).SetAttribute("var", var).SetAttribute("type", type).SetAttribute("label", label);
        foreach (var value in values)
        {
            field.AddChild("value", Ns.DataForms).AddText(value);
        }
        return field;
    }

    public static void AddOption(Element field, string value, string label) =>
        field.AddChild("option", Ns.DataForms).SetAttribute("label", label).AddChild("value", Ns.DataForms).AddText(value);

    /// <summary>The form's FORM_TYPE value, or null.</summary>
    public static string? FormType(Element form) => Values(form).GetValueOrDefault("FORM_TYPE") is [var formType, ..] ? formType : null;

    /// <summary>The fields of a form by var, each with its values in order. A field given twice keeps its last values.</summary>
    public static Dictionary<string, List<string>> Values(Element form)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var field in form.Children("field", Ns.DataForms))
        {
            if (field.GetAttribute("var") is not { } var)
            {
                continue;
            }
            var list = new List<string>();
            foreach (var value in field.Children("value", Ns.DataForms))
            {
                list.Add(value.Text);
            }
            values[var] = list;
        }
        return values;
    }

    /// <summary>XEP-0004 §3.3 booleans: "1"/"true" and "0"/"false".</summary>
    public static bool TryParseBoolean(string value, out bool result)
    {
        result = value is "1" or "true";
        return result || value is "0" or "false";
    }

    public static string Boolean(bool value) => value ? "1" : "0";
}
