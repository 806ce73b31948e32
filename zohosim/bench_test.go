package zohosim

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkGetOne measures GET one record over loopback HTTP, client and
// emulator together (both run in this process).
func BenchmarkGetOne(b *testing.B) {
	s := startSim(b, Options{Accounts: 200_000})
	tok := mintToken(b, s, s.RESTCredential())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, s.RESTURL()+"/crm/v8/Accounts/"+id(123_456), nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkGetOneHandler measures the emulator's own work for GET one record
// (routing, auth, credits, store, JSON), without the network.
func BenchmarkGetOneHandler(b *testing.B) {
	s := startSim(b, Options{Accounts: 200_000})
	tok := mintToken(b, s, s.RESTCredential())
	h := s.surfaceHandler(SurfaceREST, s.api)
	req, _ := http.NewRequest(http.MethodGet, "/crm/v8/Accounts/"+id(123_456), nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	b.ReportAllocs()
	for b.Loop() {
		w := newBufferWriter()
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatal(w.status)
		}
	}
}

// BenchmarkStoreGet measures generating one seeded record.
func BenchmarkStoreGet(b *testing.B) {
	st := NewStore(200_000, 1, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := st.Get("5725767000001123456"); !ok {
			b.Fatal("missing")
		}
	}
}
