using System.Reflection;
using Xunit;

namespace Mapwright.Tests.Architecture;

/// <summary>House rules of docs/architecture.md that a test can check: no source file over 800 lines, and no way
/// around a lock from outside the model (a member marked <c>[GuardedBy]</c> has no public or protected setter and,
/// for a field, is not public or protected).</summary>
public sealed class HouseRulesTests
{
    private const int MaxLines = 800;

    private const string GuardedByName = "Mapwright.Locking.GuardedByAttribute";

    /// <summary>Files under src/ over <see cref="MaxLines"/> lines today, by path from the repository root with '/'.
    /// The list only shrinks: a file that is short again fails the test until it is taken off. Empty today.</summary>
    private static readonly string[] s_longFilesAllowed = [];

    /// <summary>Members marked [GuardedBy] that a caller outside the model can still change today ("Type.Member").
    /// The list only shrinks, as the one above. Empty today.</summary>
    private static readonly string[] s_guardedWithPublicSetterAllowed = [];

    [Fact]
    [Trait("Rule", "architecture.md: no source file over 800 lines")]
    public void NoSourceFileIsLongerThan800Lines()
    {
        var tooLong = new SortedSet<string>(StringComparer.Ordinal);
        int files = 0;
        foreach (string path in Directory.EnumerateFiles(RepoPaths.Src, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            files++;
            int lines = File.ReadLines(path).Count();
            if (lines > MaxLines)
            {
                tooLong.Add($"{relative} ({lines} lines)");
            }
        }

        Assert.True(files > 0, $"no .cs file found under {RepoPaths.Src}");
        CheckAgainstAllowList(tooLong, s_longFilesAllowed, s => s[..s.IndexOf(" (", StringComparison.Ordinal)], $"over {MaxLines} lines");
    }

    [Fact]
    [Trait("Rule", "architecture.md: no public setter on a member a lock protects")]
    public void GuardedMembersHaveNoPublicSetter()
    {
        var bad = new SortedSet<string>(StringComparer.Ordinal);
        int guarded = 0;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (Assembly assembly in OurAssemblies())
        {
            foreach (Type type in assembly.GetTypes())
            {
                foreach (PropertyInfo property in type.GetProperties(all))
                {
                    if (IsGuarded(property))
                    {
                        guarded++;
                        if (property.SetMethod is { } setter && (setter.IsPublic || setter.IsFamily || setter.IsFamilyOrAssembly))
                        {
                            bad.Add($"{type.FullName}.{property.Name}");
                        }
                    }
                }

                foreach (FieldInfo field in type.GetFields(all))
                {
                    if (IsGuarded(field))
                    {
                        guarded++;
                        if (field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly)
                        {
                            bad.Add($"{type.FullName}.{field.Name}");
                        }
                    }
                }
            }
        }

        // The attribute (internal, in Mapwright.Contract) is found by name; a test that finds no marked member
        // checks nothing.
        Assert.True(guarded > 0, $"no member carries {GuardedByName}");
        CheckAgainstAllowList(bad, s_guardedWithPublicSetterAllowed, s => s, "is guarded by a lock but can be changed from outside the model");
    }

    private static bool IsGuarded(MemberInfo member)
    {
        foreach (CustomAttributeData attribute in member.CustomAttributes)
        {
            if (attribute.AttributeType.FullName == GuardedByName)
            {
                return true;
            }
        }

        return false;
    }

    private static List<Assembly> OurAssemblies()
    {
        var list = new List<Assembly>();
        foreach (string name in LayerTable.Rows.Keys)
        {
            list.Add(Assembly.Load(new AssemblyName(name)));
        }

        return list;
    }

    private static void CheckAgainstAllowList(SortedSet<string> found, string[] allowed, Func<string, string> key, string what)
    {
        var foundKeys = new HashSet<string>(found.Select(key), StringComparer.Ordinal);
        var added = found.Where(f => !allowed.Contains(key(f), StringComparer.Ordinal)).ToList();
        var gone = allowed.Where(a => !foundKeys.Contains(a)).ToList();
        Assert.True(added.Count == 0, $"{what}: {string.Join(", ", added)}");
        Assert.True(gone.Count == 0, $"no longer {what}, take off the allow-list: {string.Join(", ", gone)}");
    }
}
