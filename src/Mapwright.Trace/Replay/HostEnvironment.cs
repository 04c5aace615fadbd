namespace Mapwright.Trace.Replay;

/// <summary>The environment this process was started with, as execve gave it (/proc/self/environ on Linux, the
/// .NET view elsewhere): what a replay assumes for an execve line that does not show its environment.</summary>
public static class HostEnvironment
{
    private static readonly Lazy<IReadOnlyList<byte[]>> s_strings = new(Read);

    /// <summary>The VAR=value strings, without NULs.</summary>
    public static IReadOnlyList<byte[]> Strings => s_strings.Value;

    /// <summary>Splits an environment file: NUL-separated (as /proc/PID/environ), else one VAR=value per line.</summary>
    public static List<byte[]> Split(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        byte separator = Array.IndexOf(bytes, (byte)0) >= 0 ? (byte)0 : (byte)'\n';
        var result = new List<byte[]>();
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i == bytes.Length || bytes[i] == separator)
            {
                if (i > start)
                {
                    result.Add(bytes[start..i]);
                }

                start = i + 1;
            }
        }

        return result;
    }

    private static List<byte[]> Read()
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                return Split(File.ReadAllBytes("/proc/self/environ"));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        var result = new List<byte[]>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            result.Add(System.Text.Encoding.UTF8.GetBytes($"{e.Key}={e.Value}"));
        }

        return result;
    }
}
