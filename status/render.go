package status

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

var (
	//go:embed assets/page.html
	pageHTML string
	//go:embed assets/status.css
	pageCSS string
	//go:embed assets/live.js
	pageJS string

	tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
		"count": fmtCount[uint64],
		"lower": strings.ToLower,
	}).Parse(pageHTML))

	// csp allows the page's own inline style and script by hash, the event
	// stream and poll on the same origin, and nothing else.
	csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; connect-src 'self'; img-src 'self'; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'", hash(pageCSS), hash(pageJS))
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pageData is the whole page; Main is the pre-rendered live part.
type pageData struct {
	Title   string
	CSS     template.CSS
	JS      template.JS
	Main    template.HTML
	Refresh int // seconds between reloads without JavaScript
	Level   string
}

// mainData is the live part of the page: every section the script swaps.
type mainData struct {
	View
	Title       string
	Updated     string
	UpdatedISO  string
	Cards       []card
	Timeline    chart
	Credits     chart
	CreditsNow  string // the lowest balance reported
	CreditsBy   string // the balance by tier, in a sentence
	Sessions    chart
	SessionsNow string
	Calls       string // tool calls over the history
	Failed      string // failovers over the history
	History     string // "30 min"
	Interval    string // "10 s"
	Window      string // "5 min"
}

// card is one tier's part of the page.
type card struct {
	TierView
	Active    bool // enabled and configured
	Status    string
	State     string // the breaker state in words
	Since     string
	SinceISO  string
	Requests  string
	Failures  string
	Success   string
	P50       string
	P95       string
	P99       string
	Latency   chart
	Rate      chart
	Recent    []transRow
	MoreTrans int
}

type transRow struct {
	At, AtISO        string
	From, To         BreakerState
	FromText, ToText string
	Reason           string
}

// recentShown is how many transitions a tier's card lists.
const recentShown = 5

func durText(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute:
		return trimFloat(d.Minutes(), 1) + " min"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return trimFloat(d.Seconds(), 1) + " s"
}

func optText(p *float64, f func(float64) string) string {
	if p == nil {
		return "—"
	}
	return f(*p)
}

func clock(t time.Time) (string, string) {
	if t.IsZero() {
		return "", ""
	}
	return t.UTC().Format("15:04:05") + " UTC", t.UTC().Format(time.RFC3339)
}

// renderMain renders the live part of the page for v.
func renderMain(v View, title string) ([]byte, error) {
	history := time.Duration(v.HistorySeconds * float64(time.Second))
	d := mainData{View: v, Title: title,
		History:  durText(history),
		Interval: durText(time.Duration(v.IntervalSeconds * float64(time.Second))),
		Window:   durText(time.Duration(v.WindowSeconds * float64(time.Second))),
	}
	d.Updated, d.UpdatedISO = clock(v.Generated)
	for _, t := range v.Tiers {
		d.Cards = append(d.Cards, makeCard(t, v, history, d.Window))
	}
	d.Timeline = timeline(v.Tiers, v.Times, v.Generated, history)

	var credits []lineIn
	lo, hi := math.Inf(1), math.Inf(-1)
	var now []string
	lowest := math.Inf(1)
	for _, c := range v.Credits {
		vals := make([]*float64, len(c.Series))
		for i, p := range c.Series {
			if p != nil {
				f := float64(*p)
				vals[i] = &f
				lo, hi = math.Min(lo, f), math.Max(hi, f)
			}
		}
		credits = append(credits, lineIn{name: c.Tier, class: "s-credits-" + strings.ToLower(c.Tier), vals: vals})
		if c.Remaining != nil {
			now = append(now, fmt.Sprintf("%s: %s", c.Tier, fmtCount(*c.Remaining)))
			lowest = math.Min(lowest, float64(*c.Remaining))
		}
	}
	d.CreditsNow, d.CreditsBy = "not reported", "Zoho has not reported a balance yet."
	if len(now) > 0 {
		d.CreditsNow = fmtCount(int64(lowest))
		d.CreditsBy = "As last reported to " + strings.Join(now, ", ") + "."
	}
	clo, chi := niceRange(lo, hi)
	d.Credits = lineChart("credits", "Credits remaining", halfSize, v.Times, v.Generated, history, clo, chi, false,
		func(f float64) string { return compact(f) }, credits,
		"Zoho API credits remaining as Zoho reported them, over the last "+durText(history)+". "+d.CreditsBy)

	sess := make([]*float64, len(v.SessionSeries))
	for i, p := range v.SessionSeries {
		if p != nil {
			f := float64(*p)
			sess[i] = &f
		}
	}
	d.SessionsNow = "unknown"
	if v.Sessions >= 0 {
		d.SessionsNow = fmtCount(v.Sessions)
	}
	d.Sessions = lineChart("sessions", "Open sessions", halfSize, v.Times, v.Generated, history, 0, 0, true,
		func(f float64) string { return trimFloat(f, 1) }, []lineIn{{class: "s-sessions", vals: sess}},
		"Open MCP sessions over the last "+durText(history)+": "+d.SessionsNow+" now.")

	var calls, fos uint64
	for _, t := range v.Tools {
		calls += t.Count
	}
	for _, f := range v.Failovers {
		fos += f.Count
	}
	d.Calls, d.Failed = fmtCount(calls), fmtCount(fos)

	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "main", d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func makeCard(t TierView, v View, history time.Duration, window string) card {
	c := card{TierView: t, Active: t.Enabled && t.Configured, State: stateLabel(t.Breaker),
		Requests: fmtCount(t.Requests), Failures: fmtCount(t.Failures),
		Success: optText(t.SuccessRate, fmtPct),
		P50:     optText(t.P50MS, fmtMS), P95: optText(t.P95MS, fmtMS), P99: optText(t.P99MS, fmtMS)}
	switch {
	case !t.Enabled:
		c.Status = "disabled"
	case !t.Configured:
		c.Status = "not configured"
	default:
		c.Status = "breaker " + c.State
	}
	c.Since, c.SinceISO = clock(t.BreakerSince)
	for i, tr := range t.Transitions {
		if i == recentShown {
			c.MoreTrans = len(t.Transitions) - recentShown
			break
		}
		at, iso := clock(tr.At)
		c.Recent = append(c.Recent, transRow{At: at, AtISO: iso, From: tr.From, To: tr.To,
			FromText: stateLabel(tr.From), ToText: stateLabel(tr.To), Reason: tr.Reason})
	}
	id := strings.ToLower(t.Name)
	s := t.Series
	c.Latency = lineChart("lat-"+id, "Latency", cardSize, v.Times, v.Generated, history, 0, 0, false, fmtMS,
		[]lineIn{{"p50", "s-p50", s.P50MS}, {"p95", "s-p95", s.P95MS}, {"p99", "s-p99", s.P99MS}},
		fmt.Sprintf("%s call latency percentiles over a rolling %s window, for the last %s: now p50 %s, p95 %s, p99 %s.",
			t.Name, window, durText(history), c.P50, c.P95, c.P99))
	c.Rate = lineChart("rate-"+id, "Success rate", cardSize, v.Times, v.Generated, history, 0, 100, false,
		func(f float64) string { return trimFloat(f, 0) + "%" },
		[]lineIn{{"", "s-rate", s.SuccessRate}},
		fmt.Sprintf("%s success rate over a rolling %s window, for the last %s: %s overall (%s calls, %s failed).",
			t.Name, window, durText(history), c.Success, c.Requests, c.Failures))
	return c
}

// compact formats a large number briefly: 48k, 1.2M.
func compact(f float64) string {
	switch a := math.Abs(f); {
	case a >= 1e6:
		return trimFloat(f/1e6, 2) + "M"
	case a >= 1e4:
		return trimFloat(f/1e3, 1) + "k"
	}
	return trimFloat(f, 0)
}

// renderPage renders the whole page around the live part main.
func renderPage(main []byte, title, level string, refresh int) ([]byte, error) {
	var b bytes.Buffer
	err := tmpl.ExecuteTemplate(&b, "page", pageData{Title: title, CSS: template.CSS(pageCSS), JS: template.JS(pageJS),
		Main: template.HTML(main), Refresh: refresh, Level: level})
	return b.Bytes(), err
}
