using System.Runtime.ExceptionServices;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// A replay on two threads: one reads and parses the trace into batches of copied <see cref="CallLine"/>s, the
/// caller's thread steps the engine through them. At most a fixed set of batches circulates between the two (made by
/// the reader as it first needs them, so that a short trace pays for few), so memory stays bounded whatever the
/// trace's length, and the reader is never more than a few batches ahead. A malformed
/// line ends the last batch: every call before it runs, then the run stops with its diagnostic, as a replay on
/// one thread does. An exception on either side ends both.
/// </summary>
internal static class ReplayPipeline
{
    private const int BatchSize = 256;
    private const int Batches = 6;

    /// <param name="validation">When given, the reader is also the file's check: it records every malformed line
    /// and reads on to the end of the file after the replay stops (<see cref="TraceValidation"/>).</param>
    /// <param name="idle">For input arriving over time (standard input, a pipe): the reader hands over the lines it
    /// holds before each read that may wait, and the replay calls this (a flush of the output) before it waits for
    /// lines, so that each call runs and shows as soon as its line has arrived.</param>
    public static TraceDiagnostic? Run(TraceReader reader, ReplayEngine engine, Action<long, long>? progress, TraceValidation? validation = null, Action? idle = null)
    {
        var full = new BatchHandoff<Batch>();
        var free = new BatchHandoff<Batch>();
        var producer = new Thread(() => new Producer(reader, full, free, validation, streaming: idle is not null).Run()) { IsBackground = true, Name = "mapwright trace reader" };
        producer.Start();
        bool finished = false;
        try
        {
            long nextProgress = TraceReplay.ProgressInterval;
            while (true)
            {
                // The reader always ends with a last batch (or one carrying its failure), and only this side closes.
                if (!full.TryTake(out Batch? batch))
                {
                    idle?.Invoke();
                    batch = full.Take()!;
                }

                if (batch.Failure is { } failure)
                {
                    ExceptionDispatchInfo.Throw(failure);
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    engine.Step(batch.Calls[i]);
                }

                if (progress is not null && batch.LinesRead >= nextProgress)
                {
                    progress(batch.LinesRead, batch.BytesRead);
                    nextProgress = batch.LinesRead + TraceReplay.ProgressInterval;
                }

                if (batch.Last)
                {
                    finished = true;
                    return batch.Stopped;
                }

                free.Add(batch);
            }
        }
        finally
        {
            free.Close();
            if (finished || validation is not null)
            {
                // The reader has handed over its last batch, or it checks the rest of a file (which cannot wait
                // for input) before the caller disposes the reader: it is done with the trace when it returns.
                producer.Join();
            }

            // Otherwise the reader may be blocked on input that never comes (a pipe): it is a background thread
            // and stops at its next hand-over.
        }
    }

    /// <summary>The reading thread's side.</summary>
    private sealed class Producer(TraceReader reader, BatchHandoff<Batch> full, BatchHandoff<Batch> free, TraceValidation? validation, bool streaming)
    {
        private int _made;
        private Batch? _batch;

        public void Run()
        {
            try
            {
                if (!NextBatch())
                {
                    validation?.FinishReading(reader);
                    return;
                }

                if (streaming)
                {
                    reader.BeforeRead = HandOverHeld;
                }

                while (true)
                {
                    ReadStatus status = reader.Read();
                    if (_batch is not { } batch)
                    {
                        // The replay ended while a hand-over before a read waited for a batch back.
                        return;
                    }

                    if (status == ReadStatus.Call)
                    {
                        batch.Calls[batch.Count++].CopyFrom(reader.Call);
                        if (batch.Count < BatchSize)
                        {
                            continue;
                        }
                    }
                    else
                    {
                        batch.Stopped = status == ReadStatus.Error ? reader.Error : null;
                        batch.Last = true;
                        if (status == ReadStatus.Error)
                        {
                            validation?.Add(reader.Error!);
                        }
                    }

                    HandOver(batch);
                    if (batch.Last || !NextBatch())
                    {
                        // The check goes on to the end of the file (nothing left to read after the end).
                        validation?.FinishReading(reader);
                        return;
                    }
                }
            }
            catch (Exception e)
            {
                // Reading failed (an I/O error): the replay rethrows it on its own thread, if it still waits.
                validation?.Fail(e);
                full.Add(new Batch(reader.Call.FileName, 0) { Failure = e, Last = true });
            }
        }

        /// <summary>Before a read that may wait: the lines read so far go to the replay now.</summary>
        private void HandOverHeld()
        {
            if (_batch is { Count: > 0 } batch)
            {
                HandOver(batch);
                NextBatch();
            }
        }

        private void HandOver(Batch batch)
        {
            batch.LinesRead = reader.LinesRead;
            batch.BytesRead = reader.BytesRead;
            full.Add(batch);
        }

        // A free batch, made while fewer than Batches exist, else given back by the replay; false once the replay
        // has ended.
        private bool NextBatch()
        {
            if (!free.TryTake(out Batch? batch))
            {
                if (_made < Batches)
                {
                    batch = new Batch(reader.Call.FileName, BatchSize);
                    _made++;
                }
                else if ((batch = free.Take()) is null)
                {
                    _batch = null;
                    return false;
                }
            }

            batch.Count = 0;
            batch.Last = false;
            batch.Stopped = null;
            _batch = batch;
            return true;
        }
    }

    private sealed class Batch
    {
        /// <param name="size">Lines it can hold: <see cref="BatchSize"/>, or 0 for a batch that only carries a failure.</param>
        public Batch(string fileName, int size)
        {
            Calls = new CallLine[size];
            for (int i = 0; i < Calls.Length; i++)
            {
                Calls[i] = new CallLine(fileName);
            }
        }

        public CallLine[] Calls { get; }

        public int Count { get; set; }

        public bool Last { get; set; }

        public TraceDiagnostic? Stopped { get; set; }

        public int LinesRead { get; set; }

        public long BytesRead { get; set; }

        public Exception? Failure { get; set; }
    }
}
