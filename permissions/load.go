package permissions

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// maxFileSize bounds what Load reads; a permissions file is a few kilobytes.
const maxFileSize = 1 << 20

// Error lists every problem found in a permissions file, so that one run of
// `check` or one failed start shows them all. Each problem is one line that
// says what to change.
type Error struct {
	Path     string   // the file, or "" when parsed from bytes
	Problems []string // one actionable line per problem, in file order where known
}

// Error renders the problems, one per line after a header.
func (e *Error) Error() string {
	where := "permissions"
	if e.Path != "" {
		where = "permissions file " + e.Path
	}
	if len(e.Problems) == 1 {
		return where + ": " + e.Problems[0]
	}
	return fmt.Sprintf("%s: %d problems:\n  - %s", where, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// The YAML shapes of SPEC §6. Unknown keys are errors (KnownFields).
type fileDoc struct {
	DefaultProfile string                `yaml:"default_profile"`
	Profiles       map[string]profileDoc `yaml:"profiles"`
	Tokens         []tokenDoc            `yaml:"tokens"`
}

type profileDoc struct {
	Scopes  []string   `yaml:"scopes"`
	Modules []string   `yaml:"modules"`
	Fields  *fieldsDoc `yaml:"fields"`
}

type fieldsDoc struct {
	Deny   []string            `yaml:"deny"`
	DenyIn map[string][]string `yaml:"deny_in"`
}

type tokenDoc struct {
	Profile string `yaml:"profile"`
	SHA256  string `yaml:"sha256"`
}

// where describes each YAML shape for messages about unknown keys.
var where = map[string]struct{ place, allowed string }{
	"permissions.fileDoc":    {"at the top level", "default_profile, profiles, tokens"},
	"permissions.profileDoc": {"in a profile", "scopes, modules, fields"},
	"permissions.fieldsDoc":  {"in a profile's fields", "deny, deny_in"},
	"permissions.tokenDoc":   {"in a tokens entry", "profile, sha256"},
}

var (
	unknownKeyRE = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)
	dupKeyRE     = regexp.MustCompile(`^line (\d+): mapping key "(.*)" already defined at line (\d+)$`)
	listRE       = regexp.MustCompile(`^line (\d+): cannot unmarshal !!\w+ (.*) into \[\]string$`)
	profileRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Load reads and validates the permissions file at path (SPEC §6). Every
// problem is reported at once in an *Error.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("permissions file: %w; check --permissions / ZOHO_MCP_PROXY_PERMISSIONS", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("permissions file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, &Error{Path: path, Problems: []string{"file is larger than 1 MiB; a permissions file holds profiles and token hashes only"}}
	}
	p, err := Parse(data)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, err
	}
	p.source = path
	return p, nil
}

// Parse validates a permissions document held in memory. Errors are *Error.
func Parse(data []byte) (*Policy, error) {
	var doc fileDoc
	var problems []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// A syntax error: nothing after it can be trusted.
			return nil, &Error{Problems: []string{"not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
		for _, msg := range te.Errors {
			problems = append(problems, rewriteYAMLError(msg))
		}
	}
	var next yaml.Node
	if err := dec.Decode(&next); (err == nil && !emptyDoc(&next)) || (err != nil && !errors.Is(err, io.EOF)) {
		problems = append(problems, "the file holds more than one YAML document; keep one")
	}

	pol := &Policy{profiles: make(map[string]*Profile, len(doc.Profiles))}
	names := make([]string, 0, len(doc.Profiles))
	for n := range doc.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	validScopes := scopeList()
	for _, name := range names {
		pd := doc.Profiles[name]
		if !profileRE.MatchString(name) {
			problems = append(problems, fmt.Sprintf("profile name %q: use letters, digits, '_', '.' or '-'", name))
			continue
		}
		pr := &Profile{Name: name}
		if len(pd.Scopes) == 0 {
			problems = append(problems, fmt.Sprintf("profile %q has no scopes; list at least one of %s", name, validScopes))
		}
		for _, s := range pd.Scopes {
			sc, ok := ParseScope(s)
			if !ok {
				problems = append(problems, fmt.Sprintf("profile %q: unknown scope %q; valid scopes are %s", name, s, validScopes))
				continue
			}
			if !slices.Contains(pr.Scopes, sc) {
				pr.Scopes = append(pr.Scopes, sc)
			}
		}
		pr.names = scopeNames(pr.Scopes)
		if pd.Modules != nil {
			if len(pd.Modules) == 0 {
				problems = append(problems, fmt.Sprintf("profile %q: modules is empty; list the modules it may touch (e.g. [Accounts, Contacts]) or leave it out for every module", name))
			}
			pr.Modules = []string{}
			for _, m := range pd.Modules {
				switch {
				case !tiers.IsModuleName(m):
					problems = append(problems, fmt.Sprintf("profile %q: module %q is not a Zoho module API name (e.g. Accounts, Contacts, Deals)", name, m))
				case !pr.AllowsModule(m):
					pr.Modules = append(pr.Modules, m)
				}
			}
		}
		if pd.Fields != nil {
			pr.DenyFields = denyList(&problems, name, "deny field", pd.Fields.Deny)
			for _, m := range sortedKeys(pd.Fields.DenyIn) {
				switch {
				case !tiers.IsModuleName(m):
					problems = append(problems, fmt.Sprintf("profile %q: fields.deny_in key %q is not a Zoho module API name (e.g. Contacts)", name, m))
					continue
				case pr.Modules != nil && !pr.AllowsModule(m):
					problems = append(problems, fmt.Sprintf("profile %q: fields.deny_in names module %s, which the profile's modules do not list; add it to modules or remove it", name, m))
					continue
				}
				if pr.DenyIn == nil {
					pr.DenyIn = map[string][]string{}
				}
				pr.DenyIn[m] = denyList(&problems, name, "deny field of "+m, pd.Fields.DenyIn[m])
			}
		}
		pol.profiles[name] = pr
		pol.order = append(pol.order, name)
	}
	if len(doc.Profiles) == 0 {
		problems = append(problems, "profiles is missing or empty; define at least one profile, e.g. reader: { scopes: [read, monitor] }")
	}

	switch {
	case doc.DefaultProfile == "":
		problems = append(problems, "default_profile is missing; name the profile that stdio callers get (one of the profiles below profiles:)")
	case doc.Profiles != nil:
		if _, ok := doc.Profiles[doc.DefaultProfile]; !ok {
			problems = append(problems, fmt.Sprintf("default_profile %q is not defined under profiles", doc.DefaultProfile))
		}
	}
	pol.defaultName = doc.DefaultProfile

	seen := make(map[string]int)
	for i, t := range doc.Tokens {
		n := i + 1
		pr, ok := pol.profiles[t.Profile]
		switch {
		case t.Profile == "":
			problems = append(problems, fmt.Sprintf("tokens entry %d: profile is missing", n))
		case !hasProfile(doc, t.Profile):
			problems = append(problems, fmt.Sprintf("tokens entry %d: profile %q is not defined under profiles", n, t.Profile))
		}
		sum := strings.ToLower(strings.TrimSpace(t.SHA256))
		raw, err := hex.DecodeString(sum)
		if err != nil || len(raw) != 32 {
			problems = append(problems, fmt.Sprintf("tokens entry %d: sha256 must be 64 hex digits, the sha256 of the token (printf %%s \"$TOKEN\" | sha256sum); never put the token itself here", n))
			continue
		}
		if first, dup := seen[sum]; dup {
			problems = append(problems, fmt.Sprintf("tokens entry %d: same sha256 as tokens entry %d; a token maps to exactly one profile", n, first))
			continue
		}
		seen[sum] = n
		if ok {
			var e tokenEntry
			copy(e.sum[:], raw)
			e.profile = pr
			pol.tokens = append(pol.tokens, e)
		}
	}

	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return pol, nil
}

// denyList checks the field names of a deny list (what says which list in
// messages) and returns them once each.
func denyList(problems *[]string, profile, what string, fields []string) []string {
	var out []string
	for _, f := range fields {
		switch {
		case !tiers.IsAPIName(f):
			*problems = append(*problems, fmt.Sprintf("profile %q: %s %q is not a Zoho field API name (letters, digits and '_', starting with a letter, e.g. Annual_Revenue)", profile, what, f))
		case f == "id":
			*problems = append(*problems, fmt.Sprintf("profile %q: the field id cannot be denied; every record is addressed by it", profile))
		case !slices.Contains(out, f):
			out = append(out, f)
		}
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// emptyDoc reports whether n is a document with no content (a trailing "---").
func emptyDoc(n *yaml.Node) bool {
	return len(n.Content) == 0 || (len(n.Content) == 1 && n.Content[0].Tag == "!!null")
}

func hasProfile(doc fileDoc, name string) bool {
	_, ok := doc.Profiles[name]
	return ok
}

func scopeList() string {
	var names []string
	for _, s := range AllScopes() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// rewriteYAMLError turns yaml.v3's type errors into lines that say what to
// change; anything it does not recognise is passed through.
func rewriteYAMLError(msg string) string {
	if m := unknownKeyRE.FindStringSubmatch(msg); m != nil {
		if w, ok := where[m[3]]; ok {
			return fmt.Sprintf("line %s: unknown key %q %s; allowed keys are %s", m[1], m[2], w.place, w.allowed)
		}
		return fmt.Sprintf("line %s: unknown key %q", m[1], m[2])
	}
	if m := dupKeyRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("line %s: key %q is defined twice (first at line %s); keep one", m[1], m[2], m[3])
	}
	if m := listRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("line %s: expected a list such as [read, monitor], got %s", m[1], m[2])
	}
	msg = strings.ReplaceAll(msg, "permissions.", "")
	return msg
}
