using Parley.Tests.Shared;

namespace Parley.Server.Tests.Support;

public static class FreePort
{
    /// <summary>
    /// A loopback port that was free a moment ago and was never given out before in this test run,
    /// so that two nodes started in parallel do not get the same one.
    /// </summary>
    public static int Next() => LoopbackPort.Free();
}
