using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>The transparent-huge-page policy for anonymous memory. Linux: /sys/kernel/mm/transparent_hugepage/enabled.</summary>
public enum ThpMode
{
    Never,
    Madvise,
    Always,
}
