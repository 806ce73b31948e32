package tiers

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestRouteJSON: a route marshals with attempts always an array and each
// outcome by name, and reads back into the same value.
func TestRouteJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		route Route
		want  string
	}{
		{name: "no attempts", route: Route{}, want: `{"tier":"","attempts":[],"duration_ms":0}`},
		{name: "failover", route: Route{Tier: REST, DurationMS: 7, Attempts: []Attempt{
			{Tier: MCP, Outcome: AttemptRateLimited, Error: "MCP: 429"}, {Tier: REST, Outcome: AttemptSuccess}}},
			want: `{"tier":"REST","attempts":[{"tier":"MCP","outcome":"rate_limited","error":"MCP: 429"},{"tier":"REST","outcome":"success"}],"duration_ms":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.route)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tt.want)
			}
			if old, err := oldRouteJSON(tt.route); err != nil || string(old) != tt.want {
				t.Fatalf("the reflective encoding = %s, %v; want %s", old, err, tt.want)
			}
			var back Route
			if err := json.Unmarshal(b, &back); err != nil || back.Tier != tt.route.Tier || len(back.Attempts) != len(tt.route.Attempts) {
				t.Fatalf("Unmarshal = %+v, %v", back, err)
			}
			for i, a := range back.Attempts {
				if a != tt.route.Attempts[i] {
					t.Errorf("attempt %d = %+v, want %+v", i, a, tt.route.Attempts[i])
				}
			}
		})
	}
	var o AttemptOutcome
	if err := json.Unmarshal([]byte(`"ok"`), &o); err == nil {
		t.Error(`"ok" read as an outcome`)
	}
	if _, err := json.Marshal(AttemptOutcome(NumAttemptOutcomes)); err == nil {
		t.Error("an out-of-range outcome marshaled")
	}
	bad := Route{Attempts: []Attempt{{Outcome: AttemptSuccess}, {Outcome: NumAttemptOutcomes}}}
	_, want := oldRouteJSON(bad)
	if b, err := bad.AppendJSON([]byte("x")); err == nil || err.Error() != want.Error() || string(b) != "x" {
		t.Errorf("AppendJSON of an out-of-range outcome = %q, %v; want x and %v", b, err, want)
	}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("a route with an out-of-range outcome marshaled")
	}
}

// oldRouteJSON is the route's encoding by reflection, as MarshalJSON wrote
// it before AppendJSON: the oracle of TestRouteJSON and FuzzRouteJSON.
func oldRouteJSON(r Route) ([]byte, error) { return json.Marshal(plainRoute(r)) }

// plainRoute is r without its MarshalJSON, attempts an array.
func plainRoute(r Route) any {
	type plain Route
	if r.Attempts == nil {
		r.Attempts = []Attempt{}
	}
	return plain(r)
}

// FuzzRouteJSON holds MarshalJSON (AppendJSON) to the reflective encoding
// for arbitrary tiers, errors (escapes, invalid UTF-8), outcomes (in and out
// of range), durations and numbers of attempts, as a value of its own and
// inside a map (as _meta carries it).
func FuzzRouteJSON(f *testing.F) {
	f.Add("MCP", "REST", "MCP: 429 <&> \u2028", uint8(3), int64(7), uint8(2))
	f.Add("", "", "", uint8(0), int64(-1), uint8(0))
	f.Add("\xff\"", "\n", "\xe2\x80\xa8", uint8(NumAttemptOutcomes), int64(1<<62), uint8(1))
	f.Fuzz(func(t *testing.T, tier, other, msg string, outcome uint8, ms int64, n uint8) {
		r := Route{Tier: Name(tier), DurationMS: ms}
		for i := range int(n % 4) {
			a := Attempt{Tier: Name(other), Outcome: AttemptOutcome(outcome) + AttemptOutcome(i)}
			if i%2 == 0 {
				a.Error = msg
			}
			r.Attempts = append(r.Attempts, a)
		}
		want, wantErr := oldRouteJSON(r)
		got, err := r.MarshalJSON()
		if (err != nil) != (wantErr != nil) || string(got) != string(want) {
			t.Fatalf("MarshalJSON(%+v) = %s, %v; want %s, %v", r, got, err, want, wantErr)
		}
		inMap, err := json.Marshal(map[string]any{RouteMetaKey: r})
		wantMap, _ := json.Marshal(map[string]any{RouteMetaKey: plainRoute(r)})
		if (err != nil) != (wantErr != nil) || string(inMap) != string(wantMap) {
			t.Fatalf("in a map: %s, %v; want %s", inMap, err, wantMap)
		}
	})
}

// TestClassNamesAreOutcomes: an attempt that failed with a class has the
// outcome of that name, and every outcome has its own name.
func TestClassNamesAreOutcomes(t *testing.T) {
	t.Parallel()
	for c := ClassUnavailable; c <= ClassCanceled; c++ {
		if got := OutcomeOf(&Error{Class: c}); got != c.Outcome() || got.String() != c.String() {
			t.Errorf("class %s: outcome %s", c, got)
		}
	}
	if OutcomeOf(nil) != AttemptSuccess || OutcomeOf(errors.New("x")) != AttemptUnavailable {
		t.Error("nil or an unclassified error has the wrong outcome")
	}
	seen := map[string]bool{}
	for o := AttemptOutcome(0); o < NumAttemptOutcomes; o++ {
		n := o.String()
		if n == "" || seen[n] {
			t.Errorf("outcome %d has name %q (empty or repeated)", o, n)
		}
		seen[n] = true
	}
}

// TestPendingJobOf: the job is found on any *Error of the chain that names
// one, past wrappers and errors that name none.
func TestPendingJobOf(t *testing.T) {
	t.Parallel()
	inner := &Error{Tier: Bulk, Class: ClassOutcomeUnknown, PendingJob: "5725767000002000001"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "no job", err: &Error{Class: ClassOutcomeUnknown}, want: ""},
		{name: "direct", err: inner, want: inner.PendingJob},
		{name: "wrapped", err: fmt.Errorf("call: %w", inner), want: inner.PendingJob},
		{name: "under an error without a job", err: &Error{Class: ClassUnavailable, Err: inner}, want: inner.PendingJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PendingJobOf(tt.err); got != tt.want {
				t.Errorf("PendingJobOf = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDefaultsOf pins the SPEC §3 defaults, the one place they are written.
func TestDefaultsOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier Name
		want Defaults
	}{
		{MCP, Defaults{Priority: 1, Timeout: 30 * time.Second, MaxRetries: 3}},
		{Bulk, Defaults{Priority: 2, Timeout: 60 * time.Second, MaxRetries: 3}},
		{REST, Defaults{Priority: 3, Timeout: 45 * time.Second, MaxRetries: 2}},
		{"OTHER", Defaults{Timeout: 30 * time.Second}},
	}
	for _, tt := range tests {
		if got := DefaultsOf(tt.tier); got != tt.want {
			t.Errorf("DefaultsOf(%s) = %+v, want %+v", tt.tier, got, tt.want)
		}
	}
}
