using System.Diagnostics.CodeAnalysis;

namespace Mapwright.Trace.Replay;

/// <summary>
/// A queue between the replay pipeline's two threads that blocks without spinning: on a machine with as many busy
/// threads as cores (the reader, the engine and the file's check on two cores), a waiter that spins takes the
/// processor from the thread it waits for. <see cref="Close"/> wakes every waiter with nothing.
/// </summary>
internal sealed class BatchHandoff<T>
    where T : class
{
    private readonly Queue<T> _items = new();
    // An object's monitor, not a System.Threading.Lock: Monitor.Wait and Pulse need the monitor.
    private readonly object _gate = new();
    private bool _closed;

    public void Add(T item)
    {
        lock (_gate)
        {
            _items.Enqueue(item);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>The next item, waiting for one; null once closed.</summary>
    public T? Take()
    {
        lock (_gate)
        {
            while (_items.Count == 0)
            {
                if (_closed)
                {
                    return null;
                }

                Monitor.Wait(_gate);
            }

            return _items.Dequeue();
        }
    }

    /// <summary>The next item if one is waiting.</summary>
    public bool TryTake([MaybeNullWhen(false)] out T item)
    {
        lock (_gate)
        {
            return _items.TryDequeue(out item);
        }
    }

    /// <summary>Ends the hand-over: every waiter, now and later, gets null.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
