using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>What an execve did besides its result.</summary>
/// <param name="PastPointOfNoReturn">The old address space was given up (begin_new_exec() ran): a failure now kills
/// the process in Linux.</param>
/// <param name="Randomized">The program is set-user-ID or set-group-ID: the kernel clears ADDR_NO_RANDOMIZE for it
/// (PER_CLEAR_ON_SETID), so its real layout is randomised and cannot be predicted; the model builds the
/// non-randomised one. Linux: fs/exec.c bprm_fill_uid(), begin_new_exec().</param>
/// <param name="Entry">The program's entry point (after relocation).</param>
/// <param name="InterpreterBase">Where the interpreter was loaded (AT_BASE), 0 without one.</param>
public readonly record struct ExecInfo(bool PastPointOfNoReturn, bool Randomized, ulong Entry, ulong InterpreterBase);
