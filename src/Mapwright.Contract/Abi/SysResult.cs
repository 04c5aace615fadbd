using System.Globalization;

namespace Mapwright.Abi;

/// <summary>
/// A syscall's return: a non-negative value, or a negative errno, as the kernel returns it in rax.
/// Values in [-4095, -1] are errors (Linux: include/linux/err.h IS_ERR_VALUE).
/// </summary>
public readonly record struct SysResult(long Raw)
{
    public bool IsError => Raw < 0 && Raw >= -4095;

    public Errno Errno => IsError ? (Errno)(int)(-Raw) : Errno.None;

    public ulong Value => (ulong)Raw;

    public static SysResult Ok(ulong value) => new((long)value);

    public static SysResult Fail(Errno errno) => new(-(long)errno);

    /// <summary>A call that returns 0 or an error, as the kernel's <c>int</c>-returning functions do: 0 for
    /// <see cref="Errno.None"/>, else <paramref name="errno"/>.</summary>
    public static SysResult FromErrno(Errno errno) => errno == Errno.None ? Ok(0) : Fail(errno);

    public static implicit operator SysResult(Errno errno) => Fail(errno);

    /// <summary>strace's spelling: <c>0x7ffff7ff6000</c> for addresses, decimal otherwise, or <c>-1 ENOMEM (Cannot allocate memory)</c>.</summary>
    public string Format(bool hex)
    {
        if (IsError)
        {
            return "-1 " + Errno.ToString() + " (" + Errno.Message() + ")";
        }

        return hex ? "0x" + Value.ToString("x", CultureInfo.InvariantCulture) : Raw.ToString(CultureInfo.InvariantCulture);
    }

    public override string ToString() => Format(hex: false);
}
