namespace Mapwright.Diagnostics;

/// <summary>Debug switches. Linux: CONFIG_DEBUG_VM_MAPLE_TREE validate_mm().</summary>
public static class MmDebug
{
    /// <summary>Run <c>AddressSpace.Validate()</c> after every mutating syscall. On in Debug builds and in tests.</summary>
    public static bool CheckInvariants { get; set; } =
#if DEBUG
        true;
#else
        false;
#endif

    /// <summary>Check the order of every lock the model and its drivers take: a machine made while this is on gets
    /// a <see cref="Locking.LockDep"/> that records each acquisition and raises a BUG on an inversion. On in Debug
    /// builds and in tests; off in a Release build (the CLI's <c>--check-locks</c> and a driver's test suite turn it
    /// on), where the locks are still taken, held and asserted as Linux does, only their order goes unchecked.
    /// Linux: CONFIG_PROVE_LOCKING, which production kernels leave off.</summary>
    public static bool CheckLockOrder { get; set; } =
#if DEBUG
        true;
#else
        false;
#endif
}
