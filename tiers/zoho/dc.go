package zoho

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// DataCenter holds the hosts of one Zoho data centre: where OAuth tokens are
// refreshed, where the CRM API lives and where Bulk Write files are uploaded,
// and the domains Zoho serves that data centre from. URLs have a scheme and
// no trailing slash.
type DataCenter struct {
	Name        string // "us", "eu", …
	AccountsURL string // OAuth server; the token endpoint is AccountsURL + "/oauth/v2/token"
	APIDomain   string // CRM API domain; a token's api_domain takes precedence
	ContentURL  string // Bulk Write upload host
	// Domains are the data centre's own Zoho domains ("zoho.eu",
	// "zohoapis.eu"): the table's hosts without their first label. Zoho
	// hands back URLs on other hosts under them — a Bulk Write job's
	// result.download_url is on download-accl.zoho.<tld> (reference §8.3,
	// §8.4), whose name is documented for zoho.com only — and a client
	// follows such a URL, token included, to an https host under one of
	// them (see Client). WithOverrides leaves them as they are.
	Domains []string
}

// dataCenters is the table of reference §1 (from Zoho's v8 Python SDK): the
// one home of Zoho's hosts in the proxy. UK (zoho.uk) and AE (zoho.ae) are
// not in it: Zoho's SDK and API documents name no CRM data centre there
// (UNCONFIRMED); the README says how to point the proxy at any hosts with
// ZOHO_ACCOUNTS_URL, ZOHO_REST_API_DOMAIN and ZOHO_CONTENT_URL.
var dataCenters = withDomains(map[string]DataCenter{
	"us": {Name: "us", AccountsURL: "https://accounts.zoho.com", APIDomain: "https://www.zohoapis.com", ContentURL: "https://content.zohoapis.com"},
	"eu": {Name: "eu", AccountsURL: "https://accounts.zoho.eu", APIDomain: "https://www.zohoapis.eu", ContentURL: "https://content.zohoapis.eu"},
	"in": {Name: "in", AccountsURL: "https://accounts.zoho.in", APIDomain: "https://www.zohoapis.in", ContentURL: "https://content.zohoapis.in"},
	"au": {Name: "au", AccountsURL: "https://accounts.zoho.com.au", APIDomain: "https://www.zohoapis.com.au", ContentURL: "https://content.zohoapis.com.au"},
	"jp": {Name: "jp", AccountsURL: "https://accounts.zoho.jp", APIDomain: "https://www.zohoapis.jp", ContentURL: "https://content.zohoapis.jp"},
	"ca": {Name: "ca", AccountsURL: "https://accounts.zohocloud.ca", APIDomain: "https://www.zohoapis.ca", ContentURL: "https://upload.zohocloud.ca"},
	"sa": {Name: "sa", AccountsURL: "https://accounts.zoho.sa", APIDomain: "https://www.zohoapis.sa", ContentURL: "https://files.zoho.sa"},
	"cn": {Name: "cn", AccountsURL: "https://accounts.zoho.com.cn", APIDomain: "https://www.zohoapis.com.cn", ContentURL: "https://content.zohoapis.com.cn"},
})

// withDomains fills each data centre's Domains from its hosts: every host
// of the table is one label under its domain (accounts.zoho.eu,
// www.zohoapis.eu, upload.zohocloud.ca).
func withDomains(t map[string]DataCenter) map[string]DataCenter {
	for k, dc := range t {
		seen := map[string]bool{}
		for _, raw := range []string{dc.AccountsURL, dc.APIDomain, dc.ContentURL} {
			u, err := url.Parse(raw)
			if err != nil {
				panic("zoho: bad data centre URL " + raw)
			}
			_, d, ok := strings.Cut(u.Hostname(), ".")
			if !ok || !strings.Contains(d, ".") {
				panic("zoho: data centre host " + u.Host + " is not one label under a domain")
			}
			if !seen[d] {
				seen[d] = true
				dc.Domains = append(dc.Domains, d)
			}
		}
		t[k] = dc
	}
	return t
}

// HasDomainOf reports whether host (a host name, no port) is one of dc's
// Domains or a host under one of them.
func (dc DataCenter) HasDomainOf(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range dc.Domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// DefaultDC is the data centre used when none is configured.
const DefaultDC = "us"

// DCNames returns the names DC accepts, sorted.
func DCNames() []string {
	names := make([]string, 0, len(dataCenters))
	for n := range dataCenters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DC returns the data centre called name (case-insensitive). An empty name is
// DefaultDC. An unknown name is an error that lists the valid ones.
func DC(name string) (DataCenter, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		n = DefaultDC
	}
	dc, ok := dataCenters[n]
	if !ok {
		return DataCenter{}, fmt.Errorf("unknown Zoho data centre %q: use one of %s", name, strings.Join(DCNames(), ", "))
	}
	dc.Domains = append([]string(nil), dc.Domains...) // the caller's to change
	return dc, nil
}

// WithOverrides returns dc with any non-empty override replacing the
// corresponding host (ZOHO_ACCOUNTS_URL, ZOHO_REST_API_DOMAIN,
// ZOHO_CONTENT_URL). Trailing slashes are trimmed.
func (dc DataCenter) WithOverrides(accountsURL, apiDomain, contentURL string) DataCenter {
	if s := strings.TrimRight(accountsURL, "/"); s != "" {
		dc.AccountsURL = s
	}
	if s := strings.TrimRight(apiDomain, "/"); s != "" {
		dc.APIDomain = s
	}
	if s := strings.TrimRight(contentURL, "/"); s != "" {
		dc.ContentURL = s
	}
	return dc
}

// TokenURL returns the OAuth token endpoint of dc.
func (dc DataCenter) TokenURL() string { return dc.AccountsURL + "/oauth/v2/token" }
