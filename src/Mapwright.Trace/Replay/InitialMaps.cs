using System.Globalization;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Trace.Parsing;
using Mapwright.Vfs;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Builds the address space execve left from a /proc/PID/maps dump: file lines become read-only views of
/// the named host file, named kernel mappings keep their names, anonymous lines are taken as touched memory.
/// </summary>
public static class InitialMaps
{
    /// <summary>Parses and installs every line; returns the diagnostics (empty on success).</summary>
    public static IReadOnlyList<TraceDiagnostic> Load(AddressSpace mm, string text, string fileName)
    {
        var errors = new List<TraceDiagnostic>();
        var files = new Dictionary<string, MappedFile>(StringComparer.Ordinal);
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            string? error = LoadLine(mm, line, files);
            if (error is not null)
            {
                errors.Add(new TraceDiagnostic(fileName, i + 1, error));
            }
        }

        if (errors.Count == 0 && mm.StartBrk == 0)
        {
            // No [heap] line and no --brk-start: the break is where execve put it.
            mm.StartBrk = mm.Brk = mm.BrkAfterExecutable();
        }

        return errors;
    }

    private static string? LoadLine(AddressSpace mm, string line, Dictionary<string, MappedFile> files)
    {
        string[] parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 5)
        {
            return "not a maps line";
        }

        string[] range = parts[0].Split('-');
        if (range.Length != 2 || !ulong.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
            || !ulong.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end) || start >= end
            || !PageConstants.IsPageAligned(start) || !PageConstants.IsPageAligned(end))
        {
            return $"bad address range '{parts[0]}'";
        }

        string perms = parts[1];
        if (perms.Length != 4)
        {
            return $"bad permissions '{perms}'";
        }

        if (!ulong.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong offset))
        {
            return $"bad offset '{parts[2]}'";
        }

        string[] dev = parts[3].Split(':');
        if (dev.Length != 2 || !uint.TryParse(dev[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint major)
            || !uint.TryParse(dev[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint minor))
        {
            return $"bad device '{parts[3]}'";
        }

        if (!ulong.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
        {
            return $"bad inode '{parts[4]}'";
        }

        string name = parts.Length > 5 ? parts[5].Trim() : string.Empty;
        if (start >= PageConstants.TaskSize)
        {
            // The [vsyscall] gate area is no VMA; maps prints it last.
            mm.AddGateLine(line);
            return null;
        }

        VmFlags flags = VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
        if (perms[0] == 'r')
        {
            flags |= VmFlags.Read;
        }

        if (perms[1] == 'w')
        {
            flags |= VmFlags.Write;
        }

        if (perms[2] == 'x')
        {
            flags |= VmFlags.Exec;
        }

        if (perms[3] == 's')
        {
            flags |= VmFlags.Shared | VmFlags.MayShare;
        }

        bool privateWritable = (flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
        if (privateWritable)
        {
            flags |= VmFlags.Account;
        }

        ulong pgoff = offset >> PageConstants.PageShift;
        MappedFile? file = null;
        VmOperations? ops = null;
        switch (name)
        {
            case "[stack]":
                flags |= VmFlags.GrowsDown | VmFlags.Account;
                pgoff = start >> PageConstants.PageShift;
                mm.StartStack = end - 8;
                break;
            case "[heap]":
                pgoff = start >> PageConstants.PageShift;
                if (mm.StartBrk == 0)
                {
                    mm.StartBrk = start;
                    mm.Brk = end;
                }

                break;
            case "[vvar]":
            case "[vvar_vclock]":
            case "[vdso]":
            case "[uprobes]":
                // install_special_mapping(): VM_DONTEXPAND, and vvar is VM_MIXEDMAP|VM_PFNMAP.
                flags &= ~(VmFlags.MayWrite | VmFlags.MayExec);
                flags |= VmFlags.DontExpand | VmFlags.DontDump;
                if (name != "[vdso]")
                {
                    flags |= VmFlags.MixedMap;
                }
                else
                {
                    flags |= VmFlags.MayWrite | VmFlags.MayExec;
                }

                ops = new VmOperations { Name = name, IsSpecialMapping = true, MaySplit = _ => Errno.EINVAL };
                pgoff = 0;
                break;
            case "":
                pgoff = start >> PageConstants.PageShift;
                break;
            default:
                if (name.StartsWith('['))
                {
                    ops = new VmOperations { Name = name };
                    break;
                }

                ops = Mapwright.Vfs.Fs.HostFs.HostFiles.FileVmOps;
                string key = $"{major}:{minor}:{inode}:{name}";
                if (!files.TryGetValue(key, out file))
                {
                    file = new MappedFile(name, major, minor, inode) { IsShmem = name.StartsWith("/dev/zero", StringComparison.Ordinal) || name.StartsWith("/memfd:", StringComparison.Ordinal) };
                    files[key] = file;
                }

                break;
        }

        if (mm.LookupVma(start) is not null || (mm.FindVma(start) is { } next && next.Start < end))
        {
            return $"range {start:x}-{end:x} overlaps an earlier line";
        }

        mm.InstallInitialVma(start, end, flags, pgoff, file, ops, faulted: true);
        return null;
    }
}
