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
}
