using System.Runtime.CompilerServices;
using Mapwright.Diagnostics;

namespace Mapwright.Tests;

/// <summary>The model's debug checks are on for every test, whatever configuration the tests were built in: the
/// whole-address-space check after every mutating call, and the lock-order checker of every machine made.</summary>
internal static class TestSwitches
{
    [ModuleInitializer]
    internal static void TurnOnTheModelsChecks()
    {
        MmDebug.CheckInvariants = true;
        MmDebug.CheckLockOrder = true;
    }
}
