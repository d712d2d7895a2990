using Parley.Protocol.Forms;
using Parley.Xml;

namespace Parley.Protocol.Tests.Forms;

public class DataFormTests
{
    [Fact]
    public void A_built_form_has_its_type_title_hidden_form_type_and_typed_labelled_fields_with_options()
    {
        var form = DataForm.Create("form", "urn:example:config", "Settings");
        var color = DataForm.AddField(form, "color", FieldType.ListSingle, "Colour", "red");
        DataForm.AddOption(color, "red", "Red");
        DataForm.AddOption(color, "blue");
        DataForm.AddField(form, "owners", FieldType.JidMulti, "Owners", "a@example.com", "b@example.com");
        DataForm.Require(DataForm.AddField(form, "nick", FieldType.TextSingle));

        Assert.Equal(
            "<x xmlns=\"jabber:x:data\" type=\"form\"><title>Settings</title>"
            + "<field var=\"FORM_TYPE\" type=\"hidden\"><value>urn:example:config</value></field>"
            + "<field var=\"color\" type=\"list-single\" label=\"Colour\"><value>red</value>"
            + "<option label=\"Red\"><value>red</value></option><option><value>blue</value></option></field>"
            + "<field var=\"owners\" type=\"jid-multi\" label=\"Owners\"><value>a@example.com</value><value>b@example.com</value></field>"
            + "<field var=\"nick\" type=\"text-single\"><required/></field></x>",
            form.ToXml());
    }

    [Fact]
    public void A_form_without_a_form_type_or_title_has_neither()
    {
        var form = DataForm.Create("submit");
        DataForm.AddField(form, "count", values: "3");

        Assert.Equal("<x xmlns=\"jabber:x:data\" type=\"submit\"><field var=\"count\"><value>3</value></field></x>", form.ToXml());
    }

    [Fact]
    public void Submitted_values_are_read_by_var_in_order_with_every_value_of_a_multi_field()
    {
        var values = DataForm.Values(Parse(
            "<x xmlns='jabber:x:data' type='submit'>"
            + "<field var='FORM_TYPE'><value>urn:example:config</value></field>"
            + "<field var='owners'><value>a@example.com</value><value>b@example.com</value></field>"
            + "<field var='empty'/>"
            + "</x>"));

        Assert.Equal(["FORM_TYPE", "owners", "empty"], values.Keys);
        Assert.Equal(["a@example.com", "b@example.com"], values["owners"]);
        Assert.Empty(values["empty"]);
        Assert.Equal("urn:example:config", DataForm.FormType(values));
    }

    [Fact]
    public void A_field_given_twice_keeps_its_last_values_and_a_field_without_a_var_is_not_a_value()
    {
        var form = Parse(
            "<x xmlns='jabber:x:data' type='submit'>"
            + "<field var='a'><value>1</value></field><field><value>lost</value></field><field var='a'><value>2</value></field></x>");

        Assert.Equal(["2"], Assert.Single(DataForm.Values(form)).Value);
        // The fields themselves, for a reader that must refuse what it does not know, keep all three.
        Assert.Equal([(string?)"a", null, "a"], DataForm.Fields(form).Select(field => field.Var));
        Assert.Equal("lost", DataForm.Fields(form).ElementAt(1).FirstValue);
    }

    [Fact]
    public void Reading_something_that_is_not_a_data_form_gives_null()
    {
        Assert.Null(DataForm.Read(null));
        Assert.Null(DataForm.Read(Parse("<x xmlns='jabber:x:oob'/>")));
        Assert.NotNull(DataForm.Read(Parse("<x xmlns='jabber:x:data' type='submit'/>")));
    }

    [Fact]
    public void The_form_of_a_stanza_is_found_among_its_children()
    {
        var query = Parse("<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:oob'/><x xmlns='jabber:x:data' type='submit'/></query>");

        Assert.Equal("submit", DataForm.Find(query)!.GetAttribute("type"));
        Assert.Single(DataForm.FindAll(query));
    }

    [Theory]
    [InlineData("<field var='FORM_TYPE'><value>urn:a</value></field>", "urn:a", true)]
    [InlineData("<field var='FORM_TYPE'><value>urn:b</value></field>", "urn:b", false)]
    [InlineData("<field var='FORM_TYPE'><value>urn:a</value><value>urn:b</value></field>", "urn:a", false)]
    [InlineData("<field var='FORM_TYPE'/>", null, false)]
    [InlineData("", null, false)]
    public void The_form_type_is_the_first_value_and_a_form_has_a_type_only_when_it_names_exactly_that_one(string field, string? formType, bool isA)
    {
        var form = Parse($"<x xmlns='jabber:x:data' type='submit'>{field}</x>");

        Assert.Equal(formType, DataForm.FormType(form));
        Assert.Equal(isA, DataForm.HasFormType(DataForm.Values(form), "urn:a"));
    }

    [Theory]
    [InlineData("1", true, true)]
    [InlineData("true", true, true)]
    [InlineData("0", true, false)]
    [InlineData("false", true, false)]
    [InlineData("yes", false, false)]
    [InlineData("TRUE", false, false)]
    [InlineData(" 1", false, false)]
    [InlineData("", false, false)]
    public void Booleans_are_1_0_true_and_false_only(string text, bool valid, bool value)
    {
        Assert.Equal(valid, DataForm.TryParseBoolean(text, out var parsed));
        Assert.Equal(value, parsed);
    }

    [Fact]
    public void Booleans_are_written_as_1_and_0()
    {
        Assert.Equal("1", DataForm.Boolean(true));
        Assert.Equal("0", DataForm.Boolean(false));
    }

    [Fact]
    public void Removing_a_field_removes_every_field_of_that_var_and_nothing_else()
    {
        var form = Parse("<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='b'/><field var='a'/></x>");

        DataForm.RemoveField(form, "a");

        Assert.Equal(["b"], DataForm.Values(form).Keys);
    }

    private static Element Parse(string xml) => ElementParser.Parse(xml, Ns.Client);
}
