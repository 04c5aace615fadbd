namespace Mapwright.Tests.Architecture;

/// <summary>The repository's folders, found from the test assembly's location: the nearest folder above it that
/// holds Mapwright.slnx.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string Root => s_root.Value;

    public static string Src => Path.Combine(Root, "src");

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mapwright.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Mapwright.slnx above {AppContext.BaseDirectory}");
    }
}
