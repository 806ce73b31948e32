package config

import (
	"strings"
	"testing"
	"time"
)

// TestSessionAndStreamLimits: the session idle TTL comes from the file, the
// environment and the flag, in that order of precedence; the other session,
// stream and body limits from the file; defaults apply otherwise, and bad
// values are problems that say what to set.
func TestSessionAndStreamLimits(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
http:
  session_idle_ttl: 10m
  max_sessions: 100
  max_sessions_per_caller: 20
  max_in_flight_per_caller: 16
  stream_idle_timeout: 5m
  stream_heartbeat: 15s
  body_read_timeout: 3s
`)
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		want  HTTP
	}{
		{"defaults", Flags{}, nil, HTTP{SessionIdleTTL: 30 * time.Minute, MaxSessions: 4096, MaxSessionsPerCaller: 1024,
			StreamIdleTimeout: 30 * time.Minute, StreamHeartbeat: 25 * time.Second, BodyReadTimeout: 10 * time.Second}},
		{"file", Flags{Config: ptr(file)}, nil, HTTP{SessionIdleTTL: 10 * time.Minute, MaxSessions: 100, MaxSessionsPerCaller: 20,
			MaxInFlightPerCaller: 16, StreamIdleTimeout: 5 * time.Minute, StreamHeartbeat: 15 * time.Second, BodyReadTimeout: 3 * time.Second}},
		{"env over file", Flags{Config: ptr(file)}, map[string]string{EnvSessionIdleTTL: "90"}, HTTP{SessionIdleTTL: 90 * time.Second, MaxSessions: 100, MaxSessionsPerCaller: 20,
			MaxInFlightPerCaller: 16, StreamIdleTimeout: 5 * time.Minute, StreamHeartbeat: 15 * time.Second, BodyReadTimeout: 3 * time.Second}},
		{"flag over env", Flags{Config: ptr(file), SessionIdleTTL: ptr(2 * time.Hour)}, map[string]string{EnvSessionIdleTTL: "1m"}, HTTP{SessionIdleTTL: 2 * time.Hour, MaxSessions: 100, MaxSessionsPerCaller: 20,
			MaxInFlightPerCaller: 16, StreamIdleTimeout: 5 * time.Minute, StreamHeartbeat: 15 * time.Second, BodyReadTimeout: 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			h := c.HTTP
			got := HTTP{SessionIdleTTL: h.SessionIdleTTL, MaxSessions: h.MaxSessions, MaxSessionsPerCaller: h.MaxSessionsPerCaller,
				MaxInFlightPerCaller: h.MaxInFlightPerCaller, StreamIdleTimeout: h.StreamIdleTimeout, StreamHeartbeat: h.StreamHeartbeat, BodyReadTimeout: h.BodyReadTimeout}
			if !equalHTTP(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if !strings.Contains(c.String(), "session_idle_ttl="+tt.want.SessionIdleTTL.String()) {
				t.Errorf("String() lacks the session TTL: %s", c)
			}
		})
	}

	c, err := Load(Flags{}, envOf(map[string]string{EnvSessionIdleTTL: "soon"}))
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.MaxSessions, c.HTTP.MaxSessionsPerCaller, c.HTTP.MaxInFlightPerCaller = 10, 11, 1000
	c.HTTP.StreamIdleTimeout, c.HTTP.BodyReadTimeout = 0, -time.Second
	err = c.Validate()
	if err == nil {
		t.Fatal("bad limits accepted")
	}
	for _, want := range []string{EnvSessionIdleTTL + `="soon" is not a duration`, "http.max_sessions_per_caller=11 is out of range: use 1–10",
		"http.max_in_flight_per_caller=1000 is out of range", "http.stream_idle_timeout must be positive", "http.body_read_timeout must be positive"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

func equalHTTP(a, b HTTP) bool {
	return a.SessionIdleTTL == b.SessionIdleTTL && a.MaxSessions == b.MaxSessions && a.MaxSessionsPerCaller == b.MaxSessionsPerCaller &&
		a.MaxInFlightPerCaller == b.MaxInFlightPerCaller && a.StreamIdleTimeout == b.StreamIdleTimeout &&
		a.StreamHeartbeat == b.StreamHeartbeat && a.BodyReadTimeout == b.BodyReadTimeout
}
