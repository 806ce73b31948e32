package loadtest

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the q-quantile (0 ≤ q ≤ 1, nearest rank) of sorted; 0
// for an empty slice.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Dist summarises a set of durations in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Summarise sorts ds in place and returns its distribution.
func Summarise(ds []time.Duration) Dist {
	slices.Sort(ds)
	d := Dist{N: len(ds), P50: ms(Percentile(ds, 0.5)), P90: ms(Percentile(ds, 0.9)), P99: ms(Percentile(ds, 0.99))}
	if len(ds) > 0 {
		d.Max = ms(ds[len(ds)-1])
	}
	return d
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Growth is how much a series grew from its early part to its late part.
type Growth struct {
	Early   float64 `json:"early"`   // median of the samples in [10 %, 25 %] of the run
	Late    float64 `json:"late"`    // median of the samples in the last 15 % of the run
	Percent float64 `json:"percent"` // (late − early) / early × 100
}

// growth compares the early and late medians of values (in sample order,
// evenly spaced over the run). The first 10 % is warm-up and ignored.
func growth(values []float64) Growth {
	n := len(values)
	if n < 4 {
		return Growth{}
	}
	median := func(xs []float64) float64 {
		c := slices.Clone(xs)
		slices.Sort(c)
		return c[len(c)/2]
	}
	a, b := n/10, max(n/4, n/10+1)
	early := median(values[a:b])
	late := median(values[n-max(n*15/100, 1):])
	g := Growth{Early: early, Late: late}
	if early > 0 {
		g.Percent = math.Round((late-early)/early*1000) / 10
	}
	return g
}
