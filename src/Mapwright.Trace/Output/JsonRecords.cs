using System.Text.Json.Serialization;

namespace Mapwright.Trace.Output;

/// <summary>One call in <c>--json</c> output (docs/cli.md "JSON output" is the schema).</summary>
internal sealed class JsonCallRecord
{
    public int Line { get; set; }

    public int? Pid { get; set; }

    public string Call { get; set; } = "";

    /// <summary>executed, no-return, view, control, skipped.</summary>
    public string Status { get; set; } = "";

    /// <summary>The result as the echo prints it.</summary>
    public string? Result { get; set; }

    /// <summary>The numeric result (an address, a count, a hash); absent on an error or a signal.</summary>
    public ulong? Value { get; set; }

    public string? Errno { get; set; }

    public string? Signal { get; set; }

    /// <summary>The result written in the trace, as written.</summary>
    public string? Expected { get; set; }

    /// <summary>matched, diverged, or absent when not compared.</summary>
    public string? Verdict { get; set; }

    public string? Reason { get; set; }

    public IReadOnlyList<string>? Hooks { get; set; }

    /// <summary>What the replay assumed for this call (Outcome.Notes).</summary>
    public IReadOnlyList<string>? Notes { get; set; }

    /// <summary>The text of a view (maps, smaps, status).</summary>
    public string? Text { get; set; }
}

/// <summary>The last line of <c>--json</c> output.</summary>
internal sealed class JsonSummaryRecord
{
    public JsonSummaryCounts Summary { get; set; } = new();
}

internal sealed class JsonSummaryCounts
{
    public int Executed { get; set; }

    public int Matched { get; set; }

    public int Diverged { get; set; }

    public int Skipped { get; set; }

    public IReadOnlyList<string>? Leaks { get; set; }

    public JsonStats? Stats { get; set; }
}

internal sealed class JsonStats
{
    public IReadOnlyList<JsonCallStat> Calls { get; set; } = [];

    public IReadOnlyDictionary<string, int> Skipped { get; set; } = new Dictionary<string, int>();

    public IReadOnlyList<JsonProcessPeaks> Processes { get; set; } = [];
}

internal sealed class JsonCallStat
{
    public string Call { get; set; } = "";

    public int Count { get; set; }

    public int Errors { get; set; }

    public IReadOnlyDictionary<string, int> ErrorsBy { get; set; } = new Dictionary<string, int>();
}

internal sealed class JsonProcessPeaks
{
    public int? Pid { get; set; }

    public int PeakVmas { get; set; }

    public ulong PeakMappedBytes { get; set; }

    public ulong PeakResidentBytes { get; set; }

    public long Merges { get; set; }

    public long Splits { get; set; }
}

/// <summary>System.Text.Json source generation for the JSON output: no reflection at run time.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JsonCallRecord))]
[JsonSerializable(typeof(JsonSummaryRecord))]
internal sealed partial class ReplayJsonContext : JsonSerializerContext;
