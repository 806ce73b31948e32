package tools

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestPrompts: every prompt names tools that exist, takes its declared
// arguments only, refuses a call without a required one, and its text
// tells the agent to use the tools it declares (and no other).
func TestPrompts(t *testing.T) {
	t.Parallel()
	var names []string
	for _, tl := range All(Deps{}) {
		names = append(names, tl.Def.Name)
	}
	for _, p := range Prompts() {
		t.Run(p.Def.Name, func(t *testing.T) {
			t.Parallel()
			if p.Def.Description == "" || len(p.Tools) == 0 {
				t.Fatal("no description or no tools")
			}
			args := map[string]string{}
			for _, a := range p.Def.Arguments {
				if a.Description == "" {
					t.Errorf("argument %s undocumented", a.Name)
				}
				args[a.Name] = "Acme \"quoted\""
			}
			req := mcp.GetPromptRequest{}
			req.Params.Name, req.Params.Arguments = p.Def.Name, args
			res, err := p.Handler(context.Background(), req)
			if err != nil || len(res.Messages) != 1 {
				t.Fatalf("get = %+v, %v", res, err)
			}
			text := res.Messages[0].Content.(mcp.TextContent).Text
			for _, tl := range p.Tools {
				if !slices.Contains(names, tl) {
					t.Errorf("uses unknown tool %s", tl)
				}
				if !strings.Contains(text, tl) {
					t.Errorf("declares %s but its text does not use it", tl)
				}
			}
			for _, tl := range names {
				if strings.Contains(text, tl+" ") && !slices.Contains(p.Tools, tl) {
					t.Errorf("text uses %s, which it does not declare", tl)
				}
			}
			if !strings.Contains(text, `\"quoted\"`) {
				t.Errorf("an argument is not quoted into the text: %s", text)
			}
			for _, a := range p.Def.Arguments {
				if !a.Required {
					continue
				}
				short := map[string]string{}
				for k, v := range args {
					if k != a.Name {
						short[k] = v
					}
				}
				req.Params.Arguments = short
				if _, err := p.Handler(context.Background(), req); err == nil || !strings.Contains(err.Error(), "needs the argument "+a.Name) {
					t.Errorf("without %s: %v", a.Name, err)
				}
			}
			req.Params.Arguments = map[string]string{"bogus": "x"}
			if _, err := p.Handler(context.Background(), req); err == nil {
				t.Error("an unknown argument was accepted")
			}
		})
	}
}
