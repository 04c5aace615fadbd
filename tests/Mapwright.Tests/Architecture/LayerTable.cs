using System.Xml.Linq;

namespace Mapwright.Tests.Architecture;

/// <summary>The table of layers in build/Layers.props, which the build checks too (Directory.Build.targets, error
/// MW0001): for each project under src/, the projects it may reference directly.</summary>
internal static class LayerTable
{
    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlySet<string>>> s_rows = new(Load);

    /// <summary>Assembly name to the assembly names it may reference directly.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Rows => s_rows.Value;

    /// <summary>The assemblies <paramref name="name"/> may use, directly or through the ones its row allows: a
    /// built assembly references every assembly whose types it names, also one it reaches only through another
    /// project.</summary>
    public static IReadOnlySet<string> Reachable(string name)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>(Rows[name]);
        while (todo.TryPop(out string? next))
        {
            if (reached.Add(next) && Rows.TryGetValue(next, out IReadOnlySet<string>? below))
            {
                foreach (string b in below)
                {
                    todo.Push(b);
                }
            }
        }

        return reached;
    }

    private static Dictionary<string, IReadOnlySet<string>> Load()
    {
        string path = Path.Combine(RepoPaths.Root, "build", "Layers.props");
        var rows = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (XElement row in XDocument.Load(path).Descendants("MapwrightLayer"))
        {
            string name = (string?)row.Attribute("Include") ?? throw new InvalidOperationException($"{path}: a row without Include");
            string allowed = (string?)row.Attribute("Allowed") ?? "";
            rows.Add(name, new HashSet<string>(allowed.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal));
        }

        return rows;
    }
}
