namespace Parley.Server.Tests.Support;

/// <summary>A clock whose timestamps (in milliseconds) the test sets, for code that measures elapsed time.</summary>
public sealed class ManualTimestamps : TimeProvider
{
    public long Now { get; set; }
    public override long TimestampFrequency => 1000;
    public override long GetTimestamp() => Now;
}
