namespace Mapwright.Abi;

/// <summary>The signals a user access can raise. Linux: include/uapi/asm-generic/signal.h.</summary>
public enum Signal
{
    None = 0,
    SIGBUS = 7,
    SIGSEGV = 11,
}
