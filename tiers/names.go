package tiers

// The shapes of Zoho's identifiers (reference §3, §4). Every layer checks
// them with these functions: the tools before a call is routed, the tiers
// before a request is sent, the permissions file when it is loaded, so that
// no two places can disagree on what an id or a name is.

// RecordIDPattern is the JSON-schema pattern of a Zoho record id: 1–19
// decimal digits, as a string (ids are strings, never numbers; they fit in
// an int64).
const RecordIDPattern = `^[0-9]{1,19}$`

// APINamePattern is the JSON-schema pattern of a Zoho API name (a field's
// or a module's): a letter, then letters, digits and underscores.
const APINamePattern = `^[A-Za-z][A-Za-z0-9_]*$`

// MaxAPINameLen is the longest API name the proxy sends: the hosted MCP
// server declares its module and field arguments at most 100 characters.
// (Zoho's OpenAPI documents module path segments of at most 25; the proxy
// leaves anything between to Zoho's own verdict, INVALID_MODULE.)
const MaxAPINameLen = 100

// IsRecordID reports whether s is a Zoho record id (RecordIDPattern).
func IsRecordID(s string) bool {
	if len(s) == 0 || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// IsAPIName reports whether s is a Zoho field API name: APINamePattern, at
// most MaxAPINameLen bytes. "id" is one. It checks without the regexp engine
// (a bulk update of 25,000 records checks 100,000 names).
func IsAPIName(s string) bool {
	if s == "" || len(s) > MaxAPINameLen || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// IsModuleName reports whether s is a Zoho module API name, such as
// Accounts, Leads or CustomModule1. Module API names have the shape of
// every other API name (IsAPIName): Zoho derives them from a label and they
// begin with a letter, so "1Accounts" is not one, nor is anything with a
// path separator, space or dot in it.
func IsModuleName(s string) bool { return IsAPIName(s) }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
