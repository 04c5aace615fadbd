namespace Mapwright.Trace.Report;

/// <summary>
/// The per-step values of the report's charts (VMA count, mapped size, resident size) of each address space,
/// downsampled as they come: at most <see cref="MaxBuckets"/> buckets of equal width in steps, each with the least
/// and greatest value of its steps; when the buckets run out, neighbours are merged and the width doubles. A
/// million-call log so gives a few thousand numbers per chart, and the run never holds more.
/// </summary>
internal sealed class ChartSeries
{
    public const int MaxBuckets = 1024;

    /// <summary>The charts: VMAs, mapped bytes, resident bytes.</summary>
    public const int Metrics = 3;

    private readonly List<Series> _series = [];

    /// <summary>Steps per bucket (a power of two).</summary>
    public long Width { get; private set; } = 1;

    public IReadOnlyList<Series> All => _series;

    /// <summary>A new address space's series, first sampled at <paramref name="step"/>.</summary>
    public Series Add(long step)
    {
        var s = new Series(step / Width);
        _series.Add(s);
        return s;
    }

    /// <summary>The values of <paramref name="series"/> after <paramref name="step"/>.</summary>
    public void Sample(Series series, long step, long vmas, long mapped, long resident)
    {
        while (step / Width >= MaxBuckets)
        {
            Width *= 2;
            foreach (Series s in _series)
            {
                s.Halve();
            }
        }

        series.Set(step / Width, vmas, mapped, resident);
    }

    /// <summary>Carries every live series' last value to the bucket of <paramref name="lastStep"/>.</summary>
    public void Finish(long lastStep)
    {
        foreach (Series s in _series)
        {
            if (!s.Ended)
            {
                s.FillTo(lastStep / Width);
            }
        }
    }

    /// <summary>One address space's buckets: from <see cref="First"/> on, the least and greatest value of each
    /// metric in each bucket.</summary>
    public sealed class Series
    {
        private readonly List<long>[] _min = [[], [], []];
        private readonly List<long>[] _max = [[], [], []];
        private readonly long[] _last = new long[Metrics];

        internal Series(long first)
        {
            First = first;
        }

        /// <summary>The bucket of the first value.</summary>
        public long First { get; private set; }

        public int Count => _min[0].Count;

        /// <summary>No more values (the address space was torn down).</summary>
        public bool Ended { get; set; }

        public long Min(int metric, int i) => _min[metric][i];

        public long Max(int metric, int i) => _max[metric][i];

        internal void Set(long bucket, long vmas, long mapped, long resident)
        {
            if (Count == 0)
            {
                First = bucket;
            }

            if (Count != 0)
            {
                FillTo(bucket - 1);
            }

            bool fresh = First + Count <= bucket;
            _last[0] = vmas;
            _last[1] = mapped;
            _last[2] = resident;
            for (int m = 0; m < Metrics; m++)
            {
                if (fresh)
                {
                    _min[m].Add(_last[m]);
                    _max[m].Add(_last[m]);
                }
                else
                {
                    int i = Count - 1;
                    _min[m][i] = Math.Min(_min[m][i], _last[m]);
                    _max[m][i] = Math.Max(_max[m][i], _last[m]);
                }
            }
        }

        /// <summary>Repeats the last values up to and including <paramref name="bucket"/>.</summary>
        internal void FillTo(long bucket)
        {
            if (Count == 0)
            {
                return;
            }

            while (First + Count <= bucket)
            {
                for (int m = 0; m < Metrics; m++)
                {
                    _min[m].Add(_last[m]);
                    _max[m].Add(_last[m]);
                }
            }
        }

        /// <summary>Merges neighbouring buckets: bucket b of the old width is bucket b / 2 of the new.</summary>
        internal void Halve()
        {
            long newFirst = First / 2;
            for (int m = 0; m < Metrics; m++)
            {
                var min = new List<long>();
                var max = new List<long>();
                for (int i = 0; i < _min[m].Count; i++)
                {
                    long b = (First + i) / 2 - newFirst;
                    if (b == min.Count)
                    {
                        min.Add(_min[m][i]);
                        max.Add(_max[m][i]);
                    }
                    else
                    {
                        min[(int)b] = Math.Min(min[(int)b], _min[m][i]);
                        max[(int)b] = Math.Max(max[(int)b], _max[m][i]);
                    }
                }

                _min[m] = min;
                _max[m] = max;
            }

            First = newFirst;
        }
    }
}
