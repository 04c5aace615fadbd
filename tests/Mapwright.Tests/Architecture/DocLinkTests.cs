using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Mapwright.Tests.Architecture;

/// <summary>Every relative link in README.md and docs/*.md points to a file that exists and, with a #fragment, to
/// a heading of that file (GitHub's anchors: lower case, punctuation dropped, spaces to hyphens).</summary>
public sealed partial class DocLinkTests
{
    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string> { "README.md" };
        foreach (string path in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            data.Add("docs/" + Path.GetFileName(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    [Trait("Rule", "architecture.md: relative links in README.md and docs/ point at files that exist")]
    public void RelativeLinksPointToFilesAndHeadingsThatExist(string document)
    {
        string path = Path.Combine(RepoPaths.Root, document);
        string dir = Path.GetDirectoryName(path)!;
        var broken = new List<string>();
        foreach ((int line, string target) in Links(path))
        {
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            int hash = target.IndexOf('#', StringComparison.Ordinal);
            string file = hash < 0 ? target : target[..hash];
            string? anchor = hash < 0 ? null : target[(hash + 1)..];
            string resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(dir, Uri.UnescapeDataString(file)));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{document}:{line}: {target}: no such file");
            }
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(resolved).Contains(anchor))
            {
                broken.Add($"{document}:{line}: {target}: no such heading");
            }
        }

        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    /// <summary>The inline links and images outside code blocks, with their line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string path)
    {
        bool inCode = false;
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }

            if (inCode)
            {
                continue;
            }

            string text = CodeSpan().Replace(line, "");
            foreach (Match m in InlineLink().Matches(text))
            {
                yield return (number, m.Groups["target"].Value);
            }
        }
    }

    /// <summary>The anchors GitHub gives the headings of a Markdown file, with -1, -2 for repeats.</summary>
    private static HashSet<string> Anchors(string path)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool inCode = false;
        foreach (string line in File.ReadLines(path))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
            }

            if (inCode || !line.StartsWith('#'))
            {
                continue;
            }

            var slug = new StringBuilder();
            foreach (char c in line.TrimStart('#').Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            string s = slug.ToString();
            int count = seen.GetValueOrDefault(s);
            seen[s] = count + 1;
            anchors.Add(count == 0 ? s : $"{s}-{count}");
        }

        return anchors;
    }

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();
}
