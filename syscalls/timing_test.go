package syscalls

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCallTimesPercentiles: the log-linear histogram's p50 and p99 are
// within its 6 % bucket width of the true ones, and totals are exact.
func TestCallTimesPercentiles(t *testing.T) {
	k := NewKernel(nil, SystemInfo{})
	var total time.Duration
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		k.times.record(39, d) // getpid
		total += d
	}
	k.times.record(100000, time.Millisecond)
	stats := k.CallTimes()
	require.Len(t, stats, 2)
	s := stats[0]
	require.Equal(t, "getpid", s.Name)
	require.Equal(t, uint64(1000), s.Count)
	require.Equal(t, total, s.Total)
	require.InEpsilon(t, 500e3, float64(s.P50), 0.07)
	require.InEpsilon(t, 990e3, float64(s.P99), 0.07)
	require.Equal(t, "(unknown numbers)", stats[1].Name)
	for ns := uint64(0); ns < 1<<20; ns = ns*9/8 + 1 {
		b := bucketOf(ns)
		mid := bucketMid(b)
		require.Less(t, b, histBuckets)
		require.InDelta(t, float64(ns), float64(mid), float64(ns)/16+1, "ns %d bucket %d", ns, b)
	}
	require.Less(t, bucketOf(^uint64(0)), histBuckets)
}
