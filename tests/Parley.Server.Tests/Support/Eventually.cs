namespace Parley.Server.Tests.Support;

/// <summary>Waits for a condition the node reaches on its own (a session ended), with the tests' deadline.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        while (!await condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
