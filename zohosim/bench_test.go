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

// BenchmarkList measures one list page (200 records, 5 fields) over
// loopback HTTP, client and emulator together.
func BenchmarkList(b *testing.B) {
	s := startSim(b, Options{Accounts: 200_000})
	tok := mintToken(b, s, s.RESTCredential())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, s.RESTURL()+listBenchPath, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	warmListOrder(b, s, tok)
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

// listBenchPath is page 3 of the accounts sorted by Modified_Time.
const listBenchPath = "/crm/v8/Accounts?fields=Account_Name,Phone,Industry,Owner,Annual_Revenue&page=3&sort_by=Modified_Time"

// warmListOrder makes one list call, so the one-off sort of 200,000 ids
// by Modified_Time is not timed.
func warmListOrder(b *testing.B, s *Sim, tok string) {
	b.Helper()
	if r := call(b, http.MethodGet, s.RESTURL()+listBenchPath, tok, ""); r.status != http.StatusOK {
		b.Fatalf("warm-up: %d %s", r.status, r.body)
	}
}

// BenchmarkListHandler measures the emulator's own work for one list page,
// without the network.
func BenchmarkListHandler(b *testing.B) {
	s := startSim(b, Options{Accounts: 200_000})
	tok := mintToken(b, s, s.RESTCredential())
	h := s.surfaceHandler(SurfaceREST, s.api)
	req, _ := http.NewRequest(http.MethodGet, listBenchPath, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	warmListOrder(b, s, tok)
	b.ReportAllocs()
	for b.Loop() {
		w := newBufferWriter()
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatal(w.status)
		}
	}
}
