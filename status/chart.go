package status

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// chart is an inline SVG plot ready for the template: every coordinate is
// computed here, so the template only places elements.
type chart struct {
	ID      string // prefix of the element ids (title, description)
	Title   string
	Desc    string // the text alternative: what the plot shows, in words
	W, H    int
	X0, X1  float64 // the plot area
	Y0, Y1  float64
	Grid    []gridLine
	XLabels []axisLabel
	Series  []chartSeries
	Bands   []band // timeline rows
	Empty   string // shown instead of series when there is no data
	Caption bool   // show Title and the legend above the plot
}

// size is a chart's viewBox. Charts scale to their box's width, so each is
// drawn about as wide as it is shown, to keep its text at a readable size.
type size struct{ w, h int }

var (
	cardSize = size{330, 112} // in a tier's card
	halfSize = size{540, 140} // in half the page's width
)

// timelineW is the breaker timeline's width: the page's.
const timelineW = 1120

type gridLine struct {
	Y     float64
	Label string
}

type axisLabel struct {
	X      float64
	Label  string
	Anchor string // start, middle, end
}

type chartSeries struct {
	Name  string
	Class string // CSS class that colours the line
	D     string // the SVG path
}

// band is one row of a timeline: a label and coloured segments.
type band struct {
	Label    string
	Y, H     float64
	LabelY   float64
	Segments []segment
}

type segment struct {
	X, W  float64
	Y, H  float64
	Class string
	Title string
}

// YLabX is where the y axis labels end.
func (c chart) YLabX() float64 { return c.X0 - 4 }

// BLabX is where the timeline's row labels end.
func (c chart) BLabX() float64 { return c.X0 - 8 }

// XLabY is the baseline of the x axis labels.
func (c chart) XLabY() float64 { return float64(c.H) - 5 }

// CX and CY are the plot area's centre.
func (c chart) CX() float64 { return (c.X0 + c.X1) / 2 }

// CY is the plot area's vertical centre.
func (c chart) CY() float64 { return (c.Y0 + c.Y1) / 2 }

// lineIn is one series to plot: a value (or a gap) per sample.
type lineIn struct {
	name, class string
	vals        []*float64
}

// timeAxis maps times in [from, to] to x in [x0, x1].
type timeAxis struct {
	from, to time.Time
	x0, x1   float64
}

func (a timeAxis) x(t time.Time) float64 {
	span := a.to.Sub(a.from)
	if span <= 0 {
		return a.x1
	}
	f := float64(t.Sub(a.from)) / float64(span)
	return a.x0 + (a.x1-a.x0)*math.Min(math.Max(f, 0), 1)
}

func (a timeAxis) labels() []axisLabel {
	span := a.to.Sub(a.from)
	return []axisLabel{
		{X: a.x0, Label: ago(span), Anchor: "start"},
		{X: (a.x0 + a.x1) / 2, Label: ago(span / 2), Anchor: "middle"},
		{X: a.x1, Label: "now", Anchor: "end"},
	}
}

func ago(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h ago", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%s min ago", trimFloat(d.Minutes(), 1))
	}
	return fmt.Sprintf("%s s ago", trimFloat(d.Seconds(), 0))
}

// Chart margins, in viewBox units.
const (
	padLeft   = 44
	padRight  = 8
	padTop    = 8
	padBottom = 20
)

// lineChart plots series against times over [to-history, to]. The y axis
// runs from lo to hi; hi <= lo means from 0 to a round number above the
// highest value (an even one if whole is set). unit formats the axis
// labels.
func lineChart(id, title string, sz size, times []time.Time, to time.Time, history time.Duration, lo, hi float64, whole bool, unit func(float64) string, series []lineIn, desc string) chart {
	c := chart{ID: id, Title: title, W: sz.w, H: sz.h, Caption: true,
		X0: padLeft, X1: float64(sz.w - padRight), Y0: padTop, Y1: float64(sz.h - padBottom)}
	ax := timeAxis{from: to.Add(-history), to: to, x0: c.X0, x1: c.X1}
	c.XLabels = ax.labels()
	has := false
	if hi <= lo {
		top := 0.0
		for _, s := range series {
			for _, v := range s.vals {
				if v != nil {
					has = true
					top = math.Max(top, *v)
				}
			}
		}
		lo, hi = 0, niceCeil(top)
		if whole && math.Mod(hi, 2) != 0 {
			hi = 2 * math.Ceil(hi/2)
		}
	} else {
		for _, s := range series {
			for _, v := range s.vals {
				has = has || v != nil
			}
		}
	}
	y := func(v float64) float64 {
		f := (v - lo) / (hi - lo)
		return c.Y1 - (c.Y1-c.Y0)*math.Min(math.Max(f, 0), 1)
	}
	for i := range 3 {
		v := lo + (hi-lo)*float64(i)/2
		g := gridLine{Y: round1(y(v))}
		if has {
			g.Label = unit(v)
		}
		c.Grid = append(c.Grid, g)
	}
	c.Desc = desc
	if !has {
		c.Empty = "No data yet"
		return c
	}
	for _, s := range series {
		var b strings.Builder
		pen := false
		for i, v := range s.vals {
			if v == nil || i >= len(times) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%s %s", cmd, trimFloat(ax.x(times[i]), 1), trimFloat(y(*v), 1))
			if !pen && (i+1 >= len(s.vals) || s.vals[i+1] == nil) {
				b.WriteString("h0.01") // a lone point: drawn as a dot by the round cap
			}
			pen = true
		}
		c.Series = append(c.Series, chartSeries{Name: s.name, Class: s.class, D: b.String()})
	}
	return c
}

// timeline draws one band per tier with its breaker states over [to-history,
// to], from the tier's transitions.
func timeline(tiers []TierView, times []time.Time, to time.Time, history time.Duration) chart {
	const rowH, gap, top = 22.0, 8.0, 4.0
	h := int(top + float64(len(tiers))*(rowH+gap) + padBottom)
	c := chart{ID: "timeline", Title: "Circuit breaker states", W: timelineW, H: h,
		X0: 64, X1: timelineW - padRight, Y0: top, Y1: float64(h - padBottom)}
	ax := timeAxis{from: to.Add(-history), to: to, x0: c.X0, x1: c.X1}
	c.XLabels = ax.labels()
	var desc []string
	for i, t := range tiers {
		b := band{Label: t.Name, Y: top + float64(i)*(rowH+gap), H: rowH}
		b.LabelY = b.Y + rowH/2 + 4
		if len(times) > 0 {
			b.Segments = segments(t, times[0], to, ax)
			for j := range b.Segments {
				b.Segments[j].Y, b.Segments[j].H = b.Y, b.H
			}
		}
		c.Bands = append(c.Bands, b)
		desc = append(desc, timelineWords(t, times, to))
	}
	c.Desc = strings.Join(desc, " ")
	return c
}

// segments are a tier's breaker states from the first sample to now: the
// state before its first transition in that span, then one per transition.
func segments(t TierView, from, to time.Time, ax timeAxis) []segment {
	var trans []Transition // oldest first, inside (from, to]
	for i := len(t.Transitions) - 1; i >= 0; i-- {
		if tr := t.Transitions[i]; tr.At.After(from) && !tr.At.After(to) {
			trans = append(trans, tr)
		}
	}
	state := t.Breaker
	if len(trans) > 0 {
		state = trans[0].From
	}
	var out []segment
	start := from
	add := func(end time.Time, s BreakerState) {
		x0, x1 := ax.x(start), ax.x(end)
		out = append(out, segment{X: round1(x0), W: round1(math.Max(x1-x0, 1)), Class: "st-" + string(s),
			Title: fmt.Sprintf("%s %s from %s", t.Name, stateLabel(s), start.UTC().Format("15:04:05"))})
		start = end
	}
	for _, tr := range trans {
		add(tr.At, state)
		state = tr.To
	}
	add(to, state)
	return out
}

func timelineWords(t TierView, times []time.Time, to time.Time) string {
	n := 0
	for _, tr := range t.Transitions {
		if len(times) > 0 && tr.At.After(times[0]) && !tr.At.After(to) {
			n++
		}
	}
	s := fmt.Sprintf("%s: %s now", t.Name, stateLabel(t.Breaker))
	if n == 0 {
		return s + ", no change in this period."
	}
	return fmt.Sprintf("%s, %d change%s in this period.", s, n, plural(n))
}

func stateLabel(s BreakerState) string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "closed"
}

// niceCeil returns a round number (1, 2, 2.5 or 5 times a power of ten) at
// or above v; 1 for v <= 0.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// niceRange returns a round range around [lo, hi] for values that do not
// start at zero (credits), never flat.
func niceRange(lo, hi float64) (float64, float64) {
	if hi < lo {
		return 0, 1
	}
	span := niceCeil(math.Max(hi-lo, math.Max(hi*0.01, 1)))
	step := span / 2
	a := math.Floor(lo/step) * step
	b := math.Ceil(hi/step) * step
	if b-a < span {
		b = a + span
	}
	return math.Max(a, 0), b
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// trimFloat formats f with at most prec decimals and no trailing zeros.
func trimFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// fmtMS formats a duration in milliseconds for people.
func fmtMS(ms float64) string {
	switch {
	case ms >= 1000:
		return trimFloat(ms/1000, 2) + " s"
	case ms >= 100:
		return trimFloat(ms, 0) + " ms"
	case ms >= 10:
		return trimFloat(ms, 1) + " ms"
	}
	return trimFloat(ms, 2) + " ms"
}

// fmtCount formats a count with thousands separators.
func fmtCount[T ~int | ~int64 | ~uint64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtPct(p float64) string { return trimFloat(p, 2) + "%" }
