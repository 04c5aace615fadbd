using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Trace.Calls;

/// <summary>Runs one call of a trace in its process and fills in its outcome.</summary>
public delegate void CallExecutor(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome);
