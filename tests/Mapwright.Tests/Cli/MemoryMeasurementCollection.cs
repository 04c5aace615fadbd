using Xunit;

namespace Mapwright.Tests.Cli;

/// <summary>Tests that measure the process's managed heap run alone, with no other test allocating meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}
