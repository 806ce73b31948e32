package tools

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// readmePath is the README whose tool table is generated from All.
const readmePath = "../README.md"

const (
	tableBegin = "<!-- tools:begin -->\n"
	tableEnd   = "<!-- tools:end -->"
)

// toolTable renders the README's tool table from the tools themselves: name,
// scopes, read-only annotation and the first line of the description.
func toolTable() string {
	var b strings.Builder
	b.WriteString("| tool | scope | read-only | what it does |\n|---|---|---|---|\n")
	for _, t := range All(Deps{}) {
		var scopes []string
		for _, s := range t.Scopes {
			scopes = append(scopes, string(s))
		}
		ro := "no"
		if t.Def.Annotations.ReadOnlyHint != nil && *t.Def.Annotations.ReadOnlyHint {
			ro = "yes"
		}
		first, _, _ := strings.Cut(t.Def.Description, "\n")
		first = strings.ReplaceAll(first, "|", `\|`) // keep the Markdown table intact
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Def.Name, strings.Join(scopes, "+"), ro, first)
	}
	return b.String()
}

// TestREADMEToolTable fails when the README's tool table is stale; run with
// UPDATE_README=true to rewrite it.
func TestREADMEToolTable(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", strings.TrimSpace(tableBegin), tableEnd)
	}
	want := toolTable()
	got := doc[i+len(tableBegin) : j]
	if got == want {
		return
	}
	if os.Getenv("UPDATE_README") == "true" {
		if err := os.WriteFile(readmePath, []byte(doc[:i+len(tableBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md tool table is stale; run UPDATE_README=true go test ./tools -run TestREADMEToolTable\ngot:\n%s\nwant:\n%s", got, want)
}
