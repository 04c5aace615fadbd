using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mapwright.Tests.Report;

/// <summary>
/// Debian's Chromium in headless mode, driven over the Chrome DevTools Protocol (a WebSocket, System.Net.WebSockets):
/// open a page from disk, evaluate script in it, record its network requests, console errors and uncaught
/// exceptions, take screenshots. No browser download and no package beyond the SDK: the browser is the one the
/// machine has (.ci/run installs Debian's <c>chromium</c> when it is missing).
/// </summary>
internal sealed partial class HeadlessChromium : IDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonElement>> _pending = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private int _nextId;

    /// <summary>Events of the attached pages: (session, method, params).</summary>
    private readonly List<(string Session, string Method, JsonElement Params)> _events = [];

    private HeadlessChromium(Process process, string profile, Uri endpoint)
    {
        _process = process;
        _profile = profile;
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _socket.ConnectAsync(endpoint, CancellationToken.None).GetAwaiter().GetResult();
        _reader = Task.Run(ReadLoop);
    }

    /// <summary>The browser: <c>MAPWRIGHT_CHROMIUM</c>, else the first of chromium, chromium-browser, google-chrome on
    /// the PATH; null if there is none.</summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("MAPWRIGHT_CHROMIUM") is { Length: > 0 } path)
        {
            return File.Exists(path) ? path : null;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            foreach (string name in new[] { "chromium", "chromium-browser", "google-chrome" })
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();

    public static HeadlessChromium Start(string executable)
    {
        string profile = Path.Combine(Path.GetTempPath(), "mapwright-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update",
            "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=" + profile, "about:blank",
        })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + executable);
        var endpoint = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                endpoint.TrySetException(new InvalidOperationException("Chromium exited before it listened: " + log));
                return;
            }

            log.AppendLine(e.Data);
            if (Listening().Match(e.Data) is { Success: true } m)
            {
                endpoint.TrySetResult(new Uri(m.Groups[1].Value));
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        if (!endpoint.Task.Wait(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("Chromium did not open its DevTools endpoint in 30 s: " + log);
        }

        return new HeadlessChromium(process, profile, endpoint.Task.Result);
    }

    /// <summary>Opens <paramref name="file"/> in a new tab of <paramref name="width"/> x <paramref name="height"/> and
    /// waits until the page sets <c>data-ready</c> on its root element.</summary>
    public Tab Open(string file, int width = 1400, int height = 1000)
    {
        string target = Send(null, "Target.createTarget", new { url = "about:blank" }).GetProperty("targetId").GetString()!;
        string session = Send(null, "Target.attachToTarget", new { targetId = target, flatten = true }).GetProperty("sessionId").GetString()!;
        var tab = new Tab(this, session, target);
        Send(session, "Runtime.enable", new { });
        Send(session, "Log.enable", new { });
        Send(session, "Network.enable", new { });
        Send(session, "Page.enable", new { });
        Send(session, "Emulation.setDeviceMetricsOverride", new { width, height, deviceScaleFactor = 1, mobile = false });
        var clock = Stopwatch.StartNew();
        tab.Url = new Uri(Path.GetFullPath(file)).AbsoluteUri;
        Send(session, "Page.navigate", new { url = tab.Url });
        while (tab.Evaluate("(location.href === " + JsonSerializer.Serialize(tab.Url) + " && document.documentElement && document.documentElement.dataset.ready) || ''").GetString() is not { Length: > 0 } ready)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the report did not finish loading in 60 s: " + string.Join("; ", tab.Errors()));
            }

            Thread.Sleep(20);
        }

        tab.LoadTime = clock.Elapsed;
        return tab;
    }

    public void Dispose()
    {
        try
        {
            Send(null, "Browser.close", new { });
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or TimeoutException or OperationCanceledException)
        {
            // Closing anyway, below.
        }

        _stop.Cancel();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill(entireProcessTree: true);
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal JsonElement Send(string? session, string method, object parameters)
    {
        int id;
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            id = ++_nextId;
            _pending[id] = done;
        }

        var message = new Dictionary<string, object> { ["id"] = id, ["method"] = method, ["params"] = parameters };
        if (session is not null)
        {
            message["sessionId"] = session;
        }

        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(message);
        lock (_socket)
        {
            _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None).GetAwaiter().GetResult();
        }

        if (!done.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException($"no answer to {method} in 60 s");
        }

        return done.Task.Result;
    }

    internal List<JsonElement> EventsOf(string session, string method)
    {
        lock (_lock)
        {
            return [.. _events.Where(e => e.Session == session && e.Method == method).Select(e => e.Params)];
        }
    }

    private async Task ReadLoop()
    {
        byte[] chunk = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                WebSocketReceiveResult r = await _socket.ReceiveAsync(chunk, _stop.Token).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(chunk, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }

                using (JsonDocument doc = JsonDocument.Parse(message.ToArray()))
                {
                    Dispatch(doc.RootElement.Clone());
                }

                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The browser closed.
        }

        lock (_lock)
        {
            foreach (TaskCompletionSource<JsonElement> p in _pending.Values)
            {
                p.TrySetException(new InvalidOperationException("the browser connection closed"));
            }
        }
    }

    private void Dispatch(JsonElement root)
    {
        if (root.TryGetProperty("id", out JsonElement idEl))
        {
            TaskCompletionSource<JsonElement>? p;
            lock (_lock)
            {
                _pending.Remove(idEl.GetInt32(), out p);
            }

            if (root.TryGetProperty("error", out JsonElement error))
            {
                p?.TrySetException(new InvalidOperationException("DevTools: " + error.GetRawText()));
            }
            else
            {
                p?.TrySetResult(root.GetProperty("result"));
            }

            return;
        }

        string session = root.TryGetProperty("sessionId", out JsonElement s) ? s.GetString()! : "";
        string method = root.GetProperty("method").GetString()!;
        lock (_lock)
        {
            _events.Add((session, method, root.TryGetProperty("params", out JsonElement ps) ? ps : default));
        }
    }

    /// <summary>One page.</summary>
    internal sealed class Tab
    {
        private readonly HeadlessChromium _browser;
        private readonly string _session;

        public Tab(HeadlessChromium browser, string session, string target)
        {
            _browser = browser;
            _session = session;
            Target = target;
        }

        public string Target { get; }

        public string Url { get; set; } = "";

        /// <summary>From navigation to the page's <c>data-ready</c>.</summary>
        public TimeSpan LoadTime { get; set; }

        /// <summary>Evaluates <paramref name="expression"/> (awaiting a promise) and returns its value as JSON.</summary>
        public JsonElement Evaluate(string expression)
        {
            JsonElement r = _browser.Send(_session, "Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
            if (r.TryGetProperty("exceptionDetails", out JsonElement ex))
            {
                throw new InvalidOperationException("script failed: " + ex.GetRawText());
            }

            return r.GetProperty("result").TryGetProperty("value", out JsonElement v) ? v.Clone() : default;
        }

        /// <summary>Every request the page made other than loading itself.</summary>
        public List<string> OtherRequests() =>
            [.. _browser.EventsOf(_session, "Network.requestWillBeSent").Select(e => e.GetProperty("request").GetProperty("url").GetString()!).Where(u => u != Url)];

        /// <summary>Console errors and warnings, uncaught exceptions and error log entries.</summary>
        public List<string> Errors()
        {
            var errors = new List<string>();
            foreach (JsonElement e in _browser.EventsOf(_session, "Runtime.exceptionThrown"))
            {
                errors.Add("exception: " + e.GetProperty("exceptionDetails").GetRawText());
            }

            foreach (JsonElement e in _browser.EventsOf(_session, "Runtime.consoleAPICalled"))
            {
                string type = e.GetProperty("type").GetString()!;
                if (type is "error" or "warning" or "assert")
                {
                    errors.Add("console." + type + ": " + e.GetProperty("args").GetRawText());
                }
            }

            foreach (JsonElement e in _browser.EventsOf(_session, "Log.entryAdded"))
            {
                JsonElement entry = e.GetProperty("entry");
                if (entry.GetProperty("level").GetString() == "error")
                {
                    errors.Add("log: " + entry.GetProperty("text").GetString());
                }
            }

            return errors;
        }

        /// <summary>A PNG of the page (the whole page when <paramref name="fullPage"/>).</summary>
        public void Screenshot(string path, bool fullPage = false)
        {
            JsonElement r = _browser.Send(_session, "Page.captureScreenshot", new { format = "png", captureBeyondViewport = fullPage });
            File.WriteAllBytes(path, Convert.FromBase64String(r.GetProperty("data").GetString()!));
        }

        public void Close() => _browser.Send(null, "Target.closeTarget", new { targetId = Target });
    }
}
