package zohosim

import "net/http"

// The download host (SurfaceDownload): Zoho hands out a bulk write job's
// result as an absolute download_url on a host of its own
// (download-accl.zoho.<tld>), and the official SDKs send the OAuth token
// with that request (reference §8.3, §8.4). The emulator serves it on a
// listener of its own, so a client must follow the absolute URL to another
// origin and must send its token there.

// downloadMux serves the download host: GET /v2/crm/{zgid}/bulk-write/{job}/{job}.zip.
func (s *Sim) downloadMux() http.Handler {
	mux := http.NewServeMux()
	s.bulk.registerDownload(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { invalidURL(w) })
	return mux
}

// authorizeDownload is the download host's token check: the API's (401
// AUTHENTICATION_FAILURE without a token, INVALID_TOKEN for a bad one),
// unless Options.DownloadTokenOptional lets a request without a token by.
func (s *Sim) authorizeDownload(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.DownloadTokenOptional && r.Header.Get("Authorization") == "" {
		return true
	}
	return s.authorize(w, r)
}
