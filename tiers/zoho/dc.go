package zoho

import (
	"fmt"
	"sort"
	"strings"
)

// DataCenter holds the hosts of one Zoho data centre: where OAuth tokens are
// refreshed, where the CRM API lives and where Bulk Write files are uploaded.
// URLs have a scheme and no trailing slash.
type DataCenter struct {
	Name        string // "us", "eu", …
	AccountsURL string // OAuth server; the token endpoint is AccountsURL + "/oauth/v2/token"
	APIDomain   string // CRM API domain; a token's api_domain takes precedence
	ContentURL  string // Bulk Write upload host
}

// dataCenters is the table of reference §1 (from Zoho's v8 Python SDK).
var dataCenters = map[string]DataCenter{
	"us": {Name: "us", AccountsURL: "https://accounts.zoho.com", APIDomain: "https://www.zohoapis.com", ContentURL: "https://content.zohoapis.com"},
	"eu": {Name: "eu", AccountsURL: "https://accounts.zoho.eu", APIDomain: "https://www.zohoapis.eu", ContentURL: "https://content.zohoapis.eu"},
	"in": {Name: "in", AccountsURL: "https://accounts.zoho.in", APIDomain: "https://www.zohoapis.in", ContentURL: "https://content.zohoapis.in"},
	"au": {Name: "au", AccountsURL: "https://accounts.zoho.com.au", APIDomain: "https://www.zohoapis.com.au", ContentURL: "https://content.zohoapis.com.au"},
	"jp": {Name: "jp", AccountsURL: "https://accounts.zoho.jp", APIDomain: "https://www.zohoapis.jp", ContentURL: "https://content.zohoapis.jp"},
	"ca": {Name: "ca", AccountsURL: "https://accounts.zohocloud.ca", APIDomain: "https://www.zohoapis.ca", ContentURL: "https://upload.zohocloud.ca"},
	"sa": {Name: "sa", AccountsURL: "https://accounts.zoho.sa", APIDomain: "https://www.zohoapis.sa", ContentURL: "https://files.zoho.sa"},
	"cn": {Name: "cn", AccountsURL: "https://accounts.zoho.com.cn", APIDomain: "https://www.zohoapis.com.cn", ContentURL: "https://content.zohoapis.com.cn"},
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
