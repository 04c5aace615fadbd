using Xunit;

namespace Mapwright.Tests.Report;

/// <summary>One headless Chromium for the browser tests of a class. Where there is none, CI fails (its .ci/run
/// installs Debian's <c>chromium</c>), and elsewhere the tests are skipped with the reason.</summary>
public sealed class ChromiumFixture : IDisposable
{
    private readonly Lazy<HeadlessChromium?> _browser = new(() => HeadlessChromium.Find() is { } exe ? HeadlessChromium.Start(exe) : null);

    internal HeadlessChromium Browser
    {
        get
        {
            HeadlessChromium? b = _browser.Value;
            if (b is null)
            {
                const string Missing = "headless Chromium not found: install Debian's chromium (apt-get install chromium; .ci/run does) or set MAPWRIGHT_CHROMIUM";
                Assert.False(Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci && ci != "false", Missing);
                Skip.If(true, Missing);
            }

            return b!;
        }
    }

    /// <summary>Where the tests put their screenshots: <c>MAPWRIGHT_SCREENSHOTS</c>, else beside the tests.</summary>
    public static string ScreenshotDirectory()
    {
        string dir = Environment.GetEnvironmentVariable("MAPWRIGHT_SCREENSHOTS") is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        if (_browser.IsValueCreated)
        {
            _browser.Value?.Dispose();
        }
    }
}
