using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// <c>--follow-addresses</c>: before a call whose logged result is an address the kernel chose (a successful mmap
/// without MAP_FIXED or MAP_FIXED_NOREPLACE, an mremap with MREMAP_MAYMOVE and without MREMAP_FIXED, the first brk
/// that shows the break), gives that address to the process's address space, which takes it if Linux could have
/// chosen it (<see cref="AddressSpace.Follow"/>, <see cref="AddressSpace.FollowBrk"/>); after the call, says why
/// it was not taken. A successful mprotect of pages nothing maps in the model may be ld.so protecting the RELRO
/// pages of a PIE or of itself, which execve placed at random: the file moves there
/// (<see cref="AddressSpace.FollowImage"/>). Every other result is checked as usual.
/// </summary>
internal static class AddressFollower
{
    /// <summary>Arms <paramref name="sys"/>'s address space for <paramref name="call"/>: returns the placement
    /// given to it (null when the call places nothing the log shows); a brk's refusal is known at once, in
    /// <paramref name="refusal"/>.</summary>
    public static PlacementToFollow? Before(MmSyscalls sys, CallLine call, TraceRunOptions options, out string? refusal)
    {
        refusal = null;
        if (!call.HasResult || call.ResultKind != TraceResultKind.Value || call.ResultValue < 0)
        {
            return null;
        }

        ulong logged = (ulong)call.ResultValue;
        switch (call.Name)
        {
            case "mmap" when call.ArgCount > 3 && ((MapFlags)call.Arg(3) & (MapFlags.Fixed | MapFlags.FixedNoReplace)) == 0:
            case "mremap" when call.ArgCount > 3 && ((MremapFlags)call.Arg(3) & (MremapFlags.MayMove | MremapFlags.Fixed)) == MremapFlags.MayMove:
                var follow = new PlacementToFollow(logged);
                sys.Mm.Follow = follow;
                return follow;
            case "brk" when call.ArgCount > 0 && options.BrkStart is null:
                refusal = sys.Mm.FollowBrk(call.Arg(0), logged);
                return null;
            case "mprotect" when call.ArgCount > 1 && logged == 0:
                // ld.so's first call naming a PIE's or its own addresses: the file moves to where the log shows it.
                refusal = sys.Mm.FollowImage(call.Arg(0), call.Arg(1));
                return null;
            default:
                return null;
        }
    }

    /// <summary>Disarms the address space after the call; the refusal, or null when the address was taken or no
    /// search consulted it (the call failed first). An mremap the model grew in place where the log shows it moved
    /// is refused too: Linux grows in place whenever the pages after the mapping are free.</summary>
    public static string? After(MmSyscalls sys, PlacementToFollow follow, CallLine call, SysResult result)
    {
        sys.Mm.Follow = null;
        ulong old = call.Arg(0);
        if (!follow.Consulted && call.Name == "mremap" && !result.IsError && result.Value == old && follow.Address != old)
        {
            return call.Arg(2) > call.Arg(1)
                ? $"Linux grows a mapping in place when the pages after it are free, as 0x{old + PageConstants.PageAlign(call.Arg(1)):x}-0x{old + PageConstants.PageAlign(call.Arg(2)):x} is in the model"
                : "Linux does not move a mapping that does not grow";
        }

        return follow.Refusal;
    }
}
