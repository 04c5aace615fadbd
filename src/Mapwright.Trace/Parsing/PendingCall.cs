namespace Mapwright.Trace.Parsing;

/// <summary>The first half of a call strace printed as <c>... &lt;unfinished ...&gt;</c>, waiting for
/// its <c>&lt;... NAME resumed&gt;</c> line.</summary>
/// <param name="Line">The line of the unfinished half.</param>
/// <param name="Head">Its text from the call name, without the <c>&lt;unfinished ...&gt;</c> mark.</param>
internal sealed record PendingCall(int Line, string Head);
