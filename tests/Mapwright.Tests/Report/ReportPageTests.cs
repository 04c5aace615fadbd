using System.Text.Json;
using Xunit;

namespace Mapwright.Tests.Report;

/// <summary>
/// The report as a person opens it: a page from disk in headless Chromium (docs/report.md). The map's elements are
/// compared with the model's own maps text, at the last call and at calls chosen with the step control.
/// </summary>
public sealed class ReportPageTests : IClassFixture<ChromiumFixture>
{
    private const string MapRanges = "JSON.stringify([...document.querySelectorAll('#address-space [data-start]')].map(e => [e.dataset.start, e.dataset.end]))";

    private readonly ChromiumFixture _chromium;

    public ReportPageTests(ChromiumFixture chromium)
    {
        _chromium = chromium;
    }

    private static List<(string Start, string End)> PageRanges(HeadlessChromium.Tab tab) =>
        [.. JsonSerializer.Deserialize<string[][]>(tab.Evaluate(MapRanges).GetString()!)!.Select(r => (r[0], r[1]))];

    [SkippableFact]
    [Trait("Rule", "issue 11: the report is one self-contained page, opened from disk with no network request and no console error")]
    public void OpensFromDiskWithNoRequestAndNoConsoleError()
    {
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        Assert.Equal("1", tab.Evaluate("document.documentElement.dataset.ready").GetString());
        // A short log's page is drawn as it loads: a tool that reads it at its load event finds the map there.
        Assert.Equal("1", tab.Evaluate("document.documentElement.dataset.beforeLoad").GetString());
        // Move through the page as a person would, then look for errors and requests.
        tab.Evaluate("(() => { const s = document.getElementById('step'); s.value = '3'; s.dispatchEvent(new Event('input')); return 1; })()");
        tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        tab.Evaluate("document.querySelector('#address-space .vma').dispatchEvent(new MouseEvent('click', { bubbles: true })), 1");
        Assert.Empty(tab.Errors());
        Assert.Empty(tab.OtherRequests());
        string html = File.ReadAllText(report);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: on load, the data-start/data-end of the elements in #address-space equal the model's final maps")]
    public void OnLoadTheMapShowsTheFinalMapsOfTheModel()
    {
        List<string> maps = ReportTraces.MainMapsAfterEachCall(ReportTraces.Program, ReportTraces.Options());
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        List<(string, string)> expected = ReportTraces.Ranges(maps[^1]);
        Assert.Contains(("0xffffffffff600000", "0xffffffffff601000"), expected);
        Assert.Equal(expected, PageRanges(tab));
        // Permissions and names as maps prints them.
        string[][] attrs = JsonSerializer.Deserialize<string[][]>(tab.Evaluate(
            "JSON.stringify([...document.querySelectorAll('#address-space [data-start]')].map(e => [e.dataset.perms, e.dataset.name]))").GetString()!)!;
        string[] lines = maps[^1].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < lines.Length; i++)
        {
            string[] f = lines[i].Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(f[1], attrs[i][0]);
            Assert.Equal(f.Length > 5 ? f[5].Trim() : string.Empty, attrs[i][1]);
        }

        string shots = ChromiumFixture.ScreenshotDirectory();
        tab.Screenshot(Path.Combine(shots, "report-overview.png"));
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: a program that ends in exit_group opens on its maps at exit (the last /proc/PID/maps it had), not the emptied space")]
    public void AProgramThatExitedOpensOnItsMapsAtExit()
    {
        const string Trace = "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
            + "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n";
        List<string> maps = ReportTraces.MainMapsAfterEachCall(Trace, ReportTraces.Options());
        string report = ReportTraces.WriteReport(Trace + "exit_group(0) = ?\n", ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        List<(string, string)> atExit = ReportTraces.Ranges(maps[^1]);
        Assert.True(atExit.Count > 2, maps[^1]);
        Assert.Equal(atExit, PageRanges(tab));
        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: a real program's log starts with execve: the map follows the process into the address space execve built")]
    public void TheMapFollowsAProcessThroughExecve()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/bin/true"), "needs /bin/true");
        const string Trace = "execve(\"/bin/true\", [\"true\"], [\"A=1\"]) = 0\n"
            + "brk(NULL) = 0\n"
            + "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n";
        var options = new Mapwright.Trace.Replay.TraceRunOptions { Config = new Mapwright.Mm.MmConfig() };
        List<string> maps = ReportTraces.MainMapsAfterEachCall(Trace, options);
        Assert.Contains("/true", maps[^1], StringComparison.Ordinal);
        string report = ReportTraces.WriteReport(Trace + "exit_group(0) = ?\n", options);
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        Assert.Equal(ReportTraces.Ranges(maps[^1]), PageRanges(tab));
        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: the step control has one position per call, and the page opens on the last")]
    public void TheStepControlHasOnePositionPerCall()
    {
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        int[] range = JsonSerializer.Deserialize<int[]>(tab.Evaluate(
            "(() => { const s = document.getElementById('step'); return JSON.stringify([+s.min, +s.max, +s.value, s.type === 'range' ? 1 : 0]); })()").GetString()!)!;
        Assert.Equal(ReportTraces.ProgramCalls, range[1] - range[0] + 1);
        Assert.Equal(range[1], range[2]);
        Assert.Equal(1, range[3]);
        Assert.Equal(ReportTraces.ProgramCalls, tab.Evaluate("document.querySelectorAll('#calls [data-line]').length").GetInt32());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: moving the step control redraws the map of that step (the model's maps after that call)")]
    public void MovingTheSliderRedrawsTheMapOfThatStep()
    {
        List<string> maps = ReportTraces.MainMapsAfterEachCall(ReportTraces.Program, ReportTraces.Options());
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        int min = tab.Evaluate("+document.getElementById('step').min").GetInt32();
        // Forwards, backwards and at the ends: the page rebuilds some from its keyframes and some incrementally.
        foreach (int call in new[] { 1, 4, 5, 3, 13, 15, 14, 18, 20, 2 })
        {
            tab.Evaluate($"(() => {{ const s = document.getElementById('step'); s.value = '{call - 1 + min}'; s.dispatchEvent(new Event('input')); return 1; }})()");
            tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
            Assert.Equal(ReportTraces.Ranges(maps[call - 1]), PageRanges(tab));
        }

        // The keys move it too.
        tab.Evaluate("document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true })), 1");
        tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        Assert.Equal(ReportTraces.Ranges(maps[2]), PageRanges(tab));
        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: any step of a longer random trace (checkpoints, keyframes, forks) redraws the model's maps after that call")]
    public void AnyStepOfALongerRandomTraceShowsTheModelsMaps()
    {
        string trace = new Differential.RandomTraceGenerator(seed: 11, regionTop: 0x7ffff7f00000, brkStart: 0x555555559000).Generate(1500);
        var options = new Mapwright.Trace.Replay.TraceRunOptions { Config = new Mapwright.Mm.MmConfig(), BrkStart = 0x555555559000, InitialMapsText = ReportTraces.ProgramMaps };
        List<string> maps = ReportTraces.MainMapsAfterEachCall(trace, options);
        string report = ReportTraces.WriteReport(trace, options, "random.trace");
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        Assert.Equal(ReportTraces.Ranges(maps[^1]), PageRanges(tab));
        // Once the keyframes are built, and across checkpoints (every 64 calls), forwards and backwards.
        for (int i = 0; tab.Evaluate("document.documentElement.dataset.indexed || ''").GetString() != "1"; i++)
        {
            Assert.True(i < 500, "the keyframes were not built in 10 s");
            Thread.Sleep(20);
        }

        int min = tab.Evaluate("+document.getElementById('step').min").GetInt32();
        foreach (int call in new[] { 1, 64, 65, 66, 700, maps.Count - 1, 129, 1000, 2, maps.Count })
        {
            tab.Evaluate($"(() => {{ const s = document.getElementById('step'); s.value = '{call - 1 + min}'; s.dispatchEvent(new Event('input')); return 1; }})()");
            tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
            Assert.Equal(ReportTraces.Ranges(maps[call - 1]), PageRanges(tab));
            Assert.Contains("call " + call + " of " + maps.Count, tab.Evaluate("document.getElementById('step-label').textContent").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: a long log's page (compressed, its call list a window) shows the model's maps at the last call and at any other")]
    public void ALongLogsCompressedPageShowsTheModelsMaps()
    {
        const int Calls = 30_000;
        string trace = ReportTraces.Churn(calls: Calls, vmas: 60);
        var options = new Mapwright.Trace.Replay.TraceRunOptions { Config = new Mapwright.Mm.MmConfig() };
        int[] steps = [Calls, 1, 64, 20_001, 12_345, Calls - 1];
        List<string> maps = ReportTraces.MainMapsAfterEachCall(trace, options, new HashSet<int>(steps));
        string report = ReportTraces.WriteReport(trace, options, "churn.trace");
        Assert.Contains("data-encoding=\"gzip\"", File.ReadAllText(report), StringComparison.Ordinal);
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        Assert.Equal(ReportTraces.Ranges(maps[^1]), PageRanges(tab));
        Assert.Equal(Calls, tab.Evaluate("+document.getElementById('step').max - +document.getElementById('step').min + 1").GetInt32());
        int min = tab.Evaluate("+document.getElementById('step').min").GetInt32();
        foreach (int call in steps)
        {
            tab.Evaluate($"(() => {{ const s = document.getElementById('step'); s.value = '{call - 1 + min}'; s.dispatchEvent(new Event('input')); return 1; }})()");
            tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
            Assert.Equal(ReportTraces.Ranges(maps[call - 1]), PageRanges(tab));
            // The list shows a window around the call, the call in it.
            Assert.Equal(1, tab.Evaluate($"document.querySelectorAll('#calls .row.current[data-step=\"{call - 1}\"]').length").GetInt32());
        }

        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: with --check, a divergent call is marked diverged and listed first")]
    public void ADivergentCallIsMarkedAndListedFirst()
    {
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options(check: true));
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report);
        int[] diverged = JsonSerializer.Deserialize<int[]>(tab.Evaluate(
            "JSON.stringify([...document.querySelectorAll('#calls .diverged')].map(e => +e.dataset.line))").GetString()!)!;
        Assert.Equal([ReportTraces.DivergedLine], diverged);
        Assert.Equal(ReportTraces.DivergedLine, tab.Evaluate("+document.querySelector('#calls [data-line]').dataset.line").GetInt32());
        Assert.Contains("diverged", tab.Evaluate("document.getElementById('summary').textContent").GetString(), StringComparison.Ordinal);
        Assert.Empty(tab.Errors());
        tab.Close();
        File.Delete(report);
    }

    [SkippableFact]
    [Trait("Rule", "issue 11: a driver's mmap shows its hook calls in order with the locks held and the result")]
    public void ADriverMmapShowsItsHookSequence()
    {
        string report = ReportTraces.WriteReport(ReportTraces.Program, ReportTraces.Options());
        HeadlessChromium.Tab tab = _chromium.Browser.Open(report, 1400, 1100);
        // Line 11 maps /dev/mapwright/pseudolock: prepare takes its mutex, complete maps and releases it.
        tab.Evaluate("document.querySelector('#calls [data-line=\"11\"]').dispatchEvent(new MouseEvent('click', { bubbles: true })), 1");
        tab.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        string diagram = tab.Evaluate("document.getElementById('hook-diagram').textContent").GetString()!;
        int prepare = diagram.IndexOf("mmap_prepare", StringComparison.Ordinal);
        int complete = diagram.IndexOf("mmap_complete", StringComparison.Ordinal);
        Assert.True(prepare >= 0 && complete > prepare, diagram);
        Assert.Contains("/dev/mapwright/pseudolock", diagram, StringComparison.Ordinal);
        Assert.Contains("vma:write", diagram, StringComparison.Ordinal);
        Assert.Contains("mmap() = 0x7ffff7f6f000", diagram, StringComparison.Ordinal);
        Assert.Empty(tab.Errors());
        tab.Screenshot(Path.Combine(ChromiumFixture.ScreenshotDirectory(), "report-hooks.png"));
        tab.Close();
        File.Delete(report);
    }
}
