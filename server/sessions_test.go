package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSSESessionBoundToItsOpener opens a legacy SSE stream with one bearer
// token and posts into it with another: the post is refused, nothing reaches
// the stream; the opener's own post is accepted.
func TestSSESessionBoundToItsOpener(t *testing.T) {
	t.Parallel()
	ts := startHTTP(t, testPolicy(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+PathSSE, nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	endpoint := ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(v, "sessionId=") {
			endpoint = v
			break
		}
	}
	if endpoint == "" {
		t.Fatalf("no endpoint event on the SSE stream (status %d)", resp.StatusCode)
	}
	post := func(token, target string) int {
		t.Helper()
		body := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(writerToken, endpoint); got != http.StatusForbidden {
		t.Errorf("another caller's post into the session: HTTP %d, want 403", got)
	}
	nonce, _, _ := strings.Cut(endpoint, ".")
	if got := post(readerToken, nonce+".00000000000000000000000000000000"); got != http.StatusForbidden {
		t.Errorf("a forged session tag: HTTP %d, want 403", got)
	}
	if got := post(readerToken, endpoint); got != http.StatusAccepted && got != http.StatusOK {
		t.Errorf("the opener's own post: HTTP %d, want 202", got)
	}
}
