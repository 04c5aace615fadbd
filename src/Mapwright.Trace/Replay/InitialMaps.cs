using System.Globalization;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Mm.Exec;
using Mapwright.Trace.Parsing;
using Mapwright.Vfs.Fs.HostFs;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Builds the address space execve left from a /proc/PID/maps dump: parses each line, reports malformed ones, and
/// resolves file lines to files (views of the named host file, one per device, inode and path); what each line's
/// VMA is — flags, offset, the stack, the break, the special mappings — is decided by <see cref="InitialLayout"/>.
/// </summary>
public static class InitialMaps
{
    /// <summary>Parses and installs every line; returns the diagnostics (empty on success).</summary>
    public static IReadOnlyList<TraceDiagnostic> Load(AddressSpace mm, string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(text);
        var errors = new List<TraceDiagnostic>();
        var files = new Dictionary<string, MappedFile>(StringComparer.Ordinal);
        string[] lines = text.Split('\n');
        using (mm.MmapLock.Write())
        {
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

            if (errors.Count == 0)
            {
                // No [heap] line and no --brk-start: the break is where execve put it.
                InitialLayout.Finish(mm);
            }
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
        MappedFile? file = null;
        if (InitialLayout.IsFileLine(start, name))
        {
            string key = $"{major}:{minor}:{inode}:{name}";
            if (!files.TryGetValue(key, out file))
            {
                file = new MappedFile(name, major, minor, inode) { IsShmem = name.StartsWith("/dev/zero", StringComparison.Ordinal) || name.StartsWith("/memfd:", StringComparison.Ordinal) };
                files[key] = file;
            }
        }

        Errno err = InitialLayout.InstallLine(mm, line, start, end, perms, offset, name, file, HostFiles.FileVmOps);
        return err == Errno.EEXIST ? $"range {start:x}-{end:x} overlaps an earlier line" : null;
    }
}
