package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// sessionBinder ties each legacy SSE session to the credential that opened
// it. mcp-go routes a POST to /message?sessionId=… to whichever stream owns
// that id, whoever sends it; with bearer tokens, a caller who learned
// another's session id could post into it and have the answers streamed to
// the other caller. The binder mints ids of the form nonce.tag, where tag is
// an HMAC of the nonce and a hash of the opener's Authorization header, and
// refuses a post whose credential does not produce the same tag. It keeps no
// state: nothing to clean up when sessions end.
type sessionBinder struct {
	key [32]byte
}

// newSessionBinder returns a binder with a fresh random key. SSE streams live
// in one process, so a per-process key is enough.
func newSessionBinder() *sessionBinder {
	b := &sessionBinder{}
	if _, err := rand.Read(b.key[:]); err != nil {
		panic("server: no randomness for session ids: " + err.Error())
	}
	return b
}

// tag is the HMAC of nonce and the request's credential.
func (b *sessionBinder) tag(nonce string, r *http.Request) string {
	cred := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	mac := hmac.New(sha256.New, b.key[:])
	mac.Write([]byte(nonce))
	mac.Write(cred[:])
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// mint is the SSE server's session id generator (mcpserver.SessionIDGenFunc).
func (b *sessionBinder) mint(_ context.Context, r *http.Request) (string, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return "", err
	}
	nonce := hex.EncodeToString(n[:])
	return nonce + "." + b.tag(nonce, r), nil
}

// check refuses a /message post whose session id was not minted for the
// caller's credential. A post without a session id goes on to mcp-go, which
// answers it as a bad request.
func (b *sessionBinder) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("sessionId")
		if id != "" {
			nonce, tag, ok := strings.Cut(id, ".")
			if !ok || !hmac.Equal([]byte(tag), []byte(b.tag(nonce, r))) {
				httpError(w, http.StatusForbidden, "this SSE session was opened with another credential; open your own with GET "+PathSSE)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
