package tiers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Cursor is what an opaque page token holds. Every tier can continue from
// Offset (records already returned, in the query's order); a tier that talks
// to Zoho's list API may also use Zoho's own token in Zoho when it is there,
// and LastID lets keyset paging (COQL "id > last") continue past Zoho's
// offset caps. Query ties the token to the query that made it.
type Cursor struct {
	Offset int    `json:"o"`
	LastID string `json:"l,omitempty"`
	Zoho   string `json:"z,omitempty"`
	Query  string `json:"q"`
}

// Encode returns the cursor as an opaque URL-safe token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a page token made by Cursor.Encode and checks that it
// belongs to the query whose key is query (see QueryKey). An empty token is
// the first page. Errors are ClassVerdict: the caller sent a bad token.
func DecodeCursor(token, query string) (Cursor, error) {
	if token == "" {
		return Cursor{Query: query}, nil
	}
	bad := func(why string) error {
		return &Error{Class: ClassVerdict, Code: "INVALID_PAGE_TOKEN",
			Message: "page_token is not valid for this query (" + why + "); start again without page_token"}
	}
	if len(token) > MaxPageTokenLen {
		return Cursor{}, bad("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, bad("not a token this server issued")
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Offset < 0 {
		return Cursor{}, bad("not a token this server issued")
	}
	if c.Query != query {
		return Cursor{}, bad("it was issued for a different query")
	}
	if c.LastID != "" && !IsRecordID(c.LastID) {
		return Cursor{}, bad("not a token this server issued")
	}
	return c, nil
}

// QueryKey fingerprints a query (module, conditions, fields, sort …) so that
// a page token cannot be replayed against another query. parts are rendered
// with %v.
func QueryKey(parts ...any) string {
	var sb strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&sb, "%v\x00", p)
	}
	sum := sha256.Sum256([]byte(sb.String()))
	return hex.EncodeToString(sum[:6])
}
