using System.Reflection;
using NetArchTest.Rules;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Architecture;

/// <summary>
/// The layer rules on the built assemblies (docs/architecture.md): each assembly references only what its row of
/// build/Layers.props allows (the build checks the project references against the same table, errors MW0001 and
/// MW0002), Vfs and Mm never see each other, and inside an assembly each namespace depends only on the namespaces
/// below it.
/// </summary>
public sealed class LayerRulesTests
{
    /// <summary>Our namespaces a namespace must not depend on, bottom to top as docs/architecture.md orders them: in
    /// Mapwright.Contract, Abi and Diagnostics, then FailPoints, Locking, Paging and the contract itself; above it Vfs
    /// and Mm, neither on the other; the composition root (Mapwright.Machine) and Syscalls; Drivers beside them;
    /// Trace; Cli. A namespace covers its children (Mapwright.Mm covers Mapwright.Mm.Exec).</summary>
    public static readonly TheoryData<string, string> NamespaceRules = Rules(
        ("Mapwright.Abi", ["Mapwright.Diagnostics", "Mapwright.FailPoints", "Mapwright.Locking", "Mapwright.Paging", "Mapwright.Contract", "Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Diagnostics", ["Mapwright.Abi", "Mapwright.FailPoints", "Mapwright.Locking", "Mapwright.Paging", "Mapwright.Contract", "Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.FailPoints", ["Mapwright.Locking", "Mapwright.Paging", "Mapwright.Contract", "Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Locking", ["Mapwright.FailPoints", "Mapwright.Paging", "Mapwright.Contract", "Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Paging", ["Mapwright.Contract", "Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Contract", ["Mapwright.Vfs", "Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Vfs", ["Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Mm", ["Mapwright.Vfs", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Syscalls", ["Mapwright.Drivers", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Drivers", ["Mapwright.Mm", "Mapwright.Machine", "Mapwright.Syscalls", "Mapwright.Trace", "Mapwright.Cli"]),
        ("Mapwright.Trace", ["Mapwright.Cli"]));

    private readonly ITestOutputHelper _output;

    public LayerRulesTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Layers()
    {
        var data = new TheoryData<string>();
        foreach (string name in LayerTable.Rows.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Layers))]
    [Trait("Rule", "architecture.md: the allowed references between layers")]
    public void AssemblyReferencesOnlyTheLayersItsRowAllows(string layer)
    {
        Assembly assembly = Assembly.Load(new AssemblyName(layer));
        IReadOnlySet<string> allowed = LayerTable.Reachable(layer);
        var bad = new List<string>();
        foreach (AssemblyName reference in assembly.GetReferencedAssemblies())
        {
            string name = reference.Name ?? "";
            if (IsOurs(name) && !allowed.Contains(name))
            {
                bad.Add(name);
            }
        }

        Assert.True(bad.Count == 0, $"{layer} references {string.Join(", ", bad)}; build/Layers.props lets it reach only: {(allowed.Count == 0 ? "nothing" : string.Join(", ", allowed.Order(StringComparer.Ordinal)))}");
    }

    [Fact]
    [Trait("Rule", "architecture.md: Mm and Vfs never see each other")]
    public void VfsAndMmDoNotSeeEachOther()
    {
        Assembly vfs = Assembly.Load(new AssemblyName("Mapwright.Vfs"));
        Assembly mm = Assembly.Load(new AssemblyName("Mapwright.Mm"));

        // Neither assembly names the other in its references (what the compiler emitted)...
        Assert.DoesNotContain("Mapwright.Mm", vfs.GetReferencedAssemblies().Select(a => a.Name));
        Assert.DoesNotContain("Mapwright.Vfs", mm.GetReferencedAssemblies().Select(a => a.Name));

        // ...nor uses a type of the other's namespaces, and the table allows neither edge, even through a third
        // assembly. No exception is listed: the split left no back-edge between them.
        AssertNoDependency(vfs, "Mapwright.Vfs", "Mapwright.Mm");
        AssertNoDependency(mm, "Mapwright.Mm", "Mapwright.Vfs");
        Assert.DoesNotContain("Mapwright.Mm", LayerTable.Reachable("Mapwright.Vfs"));
        Assert.DoesNotContain("Mapwright.Vfs", LayerTable.Reachable("Mapwright.Mm"));
    }

    [Fact]
    [Trait("Rule", "architecture.md: the allowed references between layers")]
    public void EveryProjectUnderSrcHasARowAndEveryRowAProject()
    {
        var projects = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string dir in Directory.EnumerateDirectories(RepoPaths.Src))
        {
            string name = Path.GetFileName(dir);
            if (File.Exists(Path.Combine(dir, name + ".csproj")))
            {
                projects.Add(name);
            }
        }

        var rows = new SortedSet<string>(LayerTable.Rows.Keys, StringComparer.Ordinal);
        Assert.True(projects.Count > 0, $"no project found under {RepoPaths.Src}");
        Assert.True(rows.SetEquals(projects), $"build/Layers.props has rows for {string.Join(", ", rows)}; src/ has {string.Join(", ", projects)}");
        foreach ((string row, IReadOnlySet<string> allowed) in LayerTable.Rows)
        {
            foreach (string target in allowed)
            {
                Assert.True(LayerTable.Rows.ContainsKey(target), $"build/Layers.props: {row} may reference {target}, which has no row");
                Assert.False(LayerTable.Reachable(target).Contains(row), $"build/Layers.props: {row} and {target} may reach each other (a cycle)");
            }
        }
    }

    [Fact]
    [Trait("Rule", "architecture.md: the allowed references between layers")]
    public void EveryOneOfOurAssembliesHasARow()
    {
        foreach (Assembly assembly in OurAssemblies())
        {
            Assert.True(LayerTable.Rows.ContainsKey(assembly.GetName().Name!), $"{assembly.GetName().Name} has no row in build/Layers.props");
        }
    }

    [Theory]
    [MemberData(nameof(NamespaceRules))]
    [Trait("Rule", "architecture.md: a layer calls only the layers below it")]
    public void NamespaceDoesNotDependOnALayerAboveIt(string ns, string forbidden)
    {
        List<Assembly> assemblies = OurAssemblies();
        _output.WriteLine($"checked in: {string.Join(", ", assemblies.Select(a => a.GetName().Name))}");
        Assert.NotEmpty(Types.InAssemblies(assemblies).That().ResideInNamespace(ns).GetTypes());
        AssertNoDependency(assemblies, ns, forbidden);
    }

    private static void AssertNoDependency(Assembly assembly, string ns, string forbidden) => AssertNoDependency([assembly], ns, forbidden);

    private static void AssertNoDependency(IEnumerable<Assembly> assemblies, string ns, string forbidden)
    {
        TestResult result = Types.InAssemblies(assemblies).That().ResideInNamespace(ns).ShouldNot().HaveDependencyOn(forbidden).GetResult();

        // Closures and state machines carry their owner's dependencies; the owner is reported.
        var failing = new SortedSet<string>((result.FailingTypeNames ?? []).Where(n => !n.Contains('<', StringComparison.Ordinal)), StringComparer.Ordinal);
        Assert.True(failing.Count == 0, $"{ns} -> {forbidden}: {string.Join(", ", failing)} depend on a layer they may not see");
    }

    /// <summary>Our assemblies: the rows of the table and every other assembly named "Mapwright..." that the test
    /// project references.</summary>
    private static List<Assembly> OurAssemblies()
    {
        var list = new List<Assembly>();
        foreach (string name in LayerTable.Rows.Keys)
        {
            list.Add(Assembly.Load(new AssemblyName(name)));
        }

        foreach (AssemblyName reference in typeof(LayerRulesTests).Assembly.GetReferencedAssemblies())
        {
            if (IsOurs(reference.Name ?? "") && !LayerTable.Rows.ContainsKey(reference.Name!))
            {
                list.Add(Assembly.Load(reference));
            }
        }

        return list;
    }

    private static bool IsOurs(string name) => name == "Mapwright" || name.StartsWith("Mapwright.", StringComparison.Ordinal);

    private static TheoryData<string, string> Rules(params (string Ns, string[] Forbidden)[] rules)
    {
        var data = new TheoryData<string, string>();
        foreach ((string ns, string[] forbidden) in rules)
        {
            foreach (string f in forbidden)
            {
                data.Add(ns, f);
            }
        }

        return data;
    }
}
