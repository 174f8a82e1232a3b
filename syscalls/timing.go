package syscalls

import (
	"fmt"
	"io"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// Time per syscall, for --summary and the live summary (debug/control):
// every call's wall-clock time in the monitor, from the dispatch to the
// result, goes into a histogram of its call number. A blocking call (a
// futex wait, a read of a pipe) counts the time it slept, as strace -c -w
// does. The buckets are log-linear, eight to a power of two, so a
// percentile is within 6 % of the true one; adding a sample is three atomic
// adds, so any number of threads record without a lock, and a reader sees a
// consistent enough picture without stopping them.

// histBuckets: durations below 16 ns have a bucket each; above, eight
// buckets per power of two up to 2^63 ns.
const histBuckets = 16 + 60*8

type callHist struct {
	count   atomic.Uint64
	totalNS atomic.Uint64
	buckets [histBuckets]atomic.Uint64
}

// timings holds one histogram per call number, made on first use.
type timings struct {
	calls [maxSyscall]atomic.Pointer[callHist]
	other atomic.Pointer[callHist] // numbers past the table
}

func bucketOf(ns uint64) int {
	if ns < 16 {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // 4..63
	sub := int(ns>>(e-3)) & 7
	return 16 + (e-4)*8 + sub
}

// bucketMid is the middle of bucket b's range, in ns.
func bucketMid(b int) uint64 {
	if b < 16 {
		return uint64(b)
	}
	e := (b-16)/8 + 4
	sub := uint64((b - 16) % 8)
	lo := (8 + sub) << (e - 3)
	return lo + (uint64(1)<<(e-3))/2
}

func (tm *timings) hist(nr uint64) *callHist {
	p := &tm.other
	if nr < maxSyscall {
		p = &tm.calls[nr]
	}
	if h := p.Load(); h != nil {
		return h
	}
	p.CompareAndSwap(nil, new(callHist))
	return p.Load()
}

func (tm *timings) record(nr uint64, d time.Duration) {
	ns := uint64(max(d, 0))
	h := tm.hist(nr)
	h.count.Add(1)
	h.totalNS.Add(ns)
	h.buckets[bucketOf(ns)].Add(1)
}

// CallStats is what the summary says of one syscall.
type CallStats struct {
	Name     string
	Count    uint64
	Total    time.Duration // wall-clock time in the monitor, all calls
	P50, P99 time.Duration
}

// percentile reads the q-quantile (0 < q ≤ 1) of a histogram snapshot.
func percentile(b []uint64, n uint64, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range b {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(len(b) - 1))
}

// CallTimes returns the time per syscall so far, the most total time
// first. Threads go on recording while it reads.
func (k *Kernel) CallTimes() []CallStats {
	var out []CallStats
	add := func(name string, h *callHist) {
		if h == nil {
			return
		}
		var b [histBuckets]uint64
		var n uint64
		for i := range b {
			b[i] = h.buckets[i].Load()
			n += b[i]
		}
		if n == 0 {
			return
		}
		out = append(out, CallStats{Name: name, Count: n, Total: time.Duration(h.totalNS.Load()),
			P50: percentile(b[:], n, 0.50), P99: percentile(b[:], n, 0.99)})
	}
	for nr := range k.times.calls {
		add(Name(uint64(nr)), k.times.calls[nr].Load())
	}
	add("(unknown numbers)", k.times.other.Load())
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// WriteCallTimes writes the kernel's time-per-syscall table so far.
func (k *Kernel) WriteCallTimes(w io.Writer) error { return WriteCallTimes(w, k.CallTimes()) }

// WriteCallTimes writes a time-per-syscall table, as strace -c prints its
// own: one line per call made, the most total time first.
func WriteCallTimes(w io.Writer, stats []CallStats) error {
	var total time.Duration
	var calls uint64
	for _, s := range stats {
		total += s.Total
		calls += s.Count
	}
	if _, err := fmt.Fprintf(w, "%6s %10s %12s %10s %10s  %s\n", "% time", "calls", "total", "p50", "p99", "syscall"); err != nil {
		return err
	}
	for _, s := range stats {
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(s.Total) / float64(total)
		}
		if _, err := fmt.Fprintf(w, "%6.2f %10d %12s %10s %10s  %s\n", pct, s.Count, roundDur(s.Total), roundDur(s.P50), roundDur(s.P99), s.Name); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%6s %10d %12s %10s %10s  %s\n", "100.00", calls, roundDur(total), "", "", "total")
	return err
}

// roundDur keeps three significant digits or so.
func roundDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond).String()
	}
	return d.String()
}
