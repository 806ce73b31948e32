package tools

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// param declares one argument of a tool, once: its name, its JSON schema,
// whether it is required, and how it decodes into the tool's params struct.
// Each params struct lists its params, bound to its own fields, in its
// params method; the tool's input schema, the keys it accepts and its
// parser all come from that one list (see newTool and parse). The messages
// an agent reads when an argument is wrong stay hand-written in the
// decoders (args.go).
type param struct {
	// name is the argument's key; empty for a rule (see rule).
	name string
	// schema builds the argument's JSON schema; it runs once, when the tool
	// is defined, never per call.
	schema func() schema
	// need makes the argument required: the schema lists it as required
	// and a call without it (or with null) is refused with "<name> is
	// required: <need>". Empty means optional.
	need string
	// decode reads the argument from a (absent or null means its default)
	// into the params struct the param is bound to.
	decode func(a *args) error

	// How the argument touches Zoho fields, for the deny-list probes
	// (DenyProbes): every argument declares reach or noField
	// (TestEveryParamDeclaresItsFields), so that a new argument is probed
	// as soon as it exists.
	//
	// reach returns a value of the argument that reaches field: names it
	// (fields, data, filters, where, sort_by …) or, for an implicit search
	// (word, email, phone), is matched against the values of fields the
	// search covers. ok is false when field cannot go in this argument at
	// all (say, sort_by takes only a few fields).
	reach func(field string) (v any, ok bool)
	// noField marks an argument that names no field and is matched against
	// none (ids, limit, page_token, trigger …).
	noField bool
	// sample returns a valid value, free of any field a caller may be
	// denied, that makes a call valid: required arguments and the first
	// argument of an exactly-one group have one. ids are real record ids.
	sample func(ids []string) any
	// group lists the arguments of which a call gives at most one (a rule
	// param with exactly true: exactly one); the probes give only the
	// probed one of them.
	group   []string
	exactly bool
}

// rule is a check over several arguments (say, "give ids or filters, not
// both"). It takes no key and no schema; it runs in its place in the list,
// after the params before it have decoded.
func rule(check func(a *args) error) param { return param{decode: check} }

// declared is a tool's params struct: params lists its arguments bound to
// the struct's fields, in the order they are checked and documented.
type declared interface {
	params() []param
}

// ptrTo constrains PP to *P with P's params method, so that parse can make a
// P and bind its params.
type ptrTo[P any] interface {
	*P
	declared
}

// inputSchema returns the strict input schema of the params of P.
func inputSchema[P any, PP ptrTo[P]]() schema {
	props := schema{}
	var required []string
	for _, p := range PP(new(P)).params() {
		if p.name == "" {
			continue
		}
		props[p.name] = p.schema()
		if p.need != "" {
			required = append(required, p.name)
		}
	}
	return object("", props, required...)
}

// parse decodes raw as the arguments of P: an object with P's keys only,
// its required ones present, each decoded in order, rules checked in their
// place. Every failure is an argError whose text is the agent's. A tool
// parses with its own parser (newTool); this one-off is for tests.
func parse[P any, PP ptrTo[P]](raw []byte, prof *permissions.Profile) (P, error) {
	return newParser[P, PP]().parse(raw, prof)
}

// parser parses the arguments of P. A params method binds its params to
// the fields of one P, in closures, and making them took about nine
// allocations, on every call; a parser keeps P's keys, and bound Ps with
// their params in a pool, so that a call finds them made. That is sound
// because a params method's closures keep no state of their own: they read
// and write the fields of the P they are bound to (and args), which parse
// zeroes before the P goes back to the pool (TestParserReuse).
type parser[P any, PP ptrTo[P]] struct {
	keys  []string  // the argument names, for parseArgs
	bound sync.Pool // of *boundParams[P]
}

// boundParams is a P and its params, bound to it.
type boundParams[P any] struct {
	p  P
	ps []param
}

func newParser[P any, PP ptrTo[P]]() *parser[P, PP] {
	pr := &parser[P, PP]{}
	for _, x := range PP(new(P)).params() {
		if x.name != "" {
			pr.keys = append(pr.keys, x.name)
		}
	}
	return pr
}

// parse is parse[P] with pr's keys and a bound P from its pool. It returns
// what the params decoded, also on failure (a copy: the bound P is zeroed
// for the next call).
func (pr *parser[P, PP]) parse(raw []byte, prof *permissions.Profile) (P, error) {
	b, _ := pr.bound.Get().(*boundParams[P])
	if b == nil {
		b = &boundParams[P]{}
		b.ps = PP(&b.p).params()
	}
	err := b.decode(raw, prof, pr.keys)
	p := b.p
	b.p = *new(P)
	pr.bound.Put(b)
	return p, err
}

// decode decodes raw into b.p, through its params.
func (b *boundParams[P]) decode(raw []byte, prof *permissions.Profile, keys []string) error {
	a, err := parseArgs(raw, prof, keys...)
	if err != nil {
		return err
	}
	for _, x := range b.ps {
		if x.need != "" && !a.has(x.name) {
			return argErr("%s is required: %s", x.name, x.need)
		}
		if err := x.decode(a); err != nil {
			return err
		}
	}
	return nil
}

// newTool makes the Tool of def, whose arguments are the params of P: its
// input schema comes from them, and its handler refuses a call guard
// refuses, answers arguments parse rejects with an invalid-arguments result,
// and gives any other call to serve with the parsed arguments and the
// caller's profile. Every outcome is a tool result; the error is always nil.
func newTool[P any, PP ptrTo[P]](def mcp.Tool, scopes []permissions.Scope,
	serve func(ctx context.Context, in P, prof *permissions.Profile) *mcp.CallToolResult) Tool {
	rawInput(inputSchema[P, PP]())(&def)
	name := def.Name
	pr := newParser[P, PP]()
	h := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		prof, res := guard(ctx, name, scopes)
		if res != nil {
			return res, nil
		}
		in, err := pr.parse(rawArguments(req), prof)
		if err != nil {
			return invalid(name, err), nil
		}
		return serve(ctx, in, prof), nil
	}
	return Tool{Def: def, Scopes: scopes, Handler: server.ToolHandlerFunc(h),
		parse:  func(raw []byte, prof *permissions.Profile) (any, error) { return pr.parse(raw, prof) },
		params: func() []param { return PP(new(P)).params() }}
}

// noParams are the arguments of a tool that takes none: any key is refused.
type noParams struct{}

func (*noParams) params() []param { return nil }

// The params every tool shares, each with its schema and decoder.

// idParam is a required record id under name.
func idParam(name, desc, need string, dst *string) param {
	return param{name: name, need: need, noField: true,
		schema: func() schema { return idSchema(desc) },
		decode: func(a *args) (err error) { *dst, err = a.id(name); return err },
		sample: func(ids []string) any { return ids[0] }}
}

// idsParam is an optional list of 1..max unique record ids under name; item
// describes one id.
func idsParam(name, desc, item string, max int, dst *[]string) param {
	return param{name: name, noField: true,
		schema: func() schema { return array(desc, idSchema(item), 1, max) },
		decode: func(a *args) (err error) { *dst, err = a.ids(name, max); return err }}
}

// fieldsParam is the optional fields list.
func fieldsParam(dst *[]string) param {
	return param{name: "fields", schema: fieldsSchema, reach: nameReach,
		decode: func(a *args) (err error) { *dst, err = a.fields(); return err }}
}

// limitParam is the optional page size, defaultLimit when absent.
func limitParam(dst *int) param {
	return param{name: "limit", schema: limitSchema, noField: true,
		decode: func(a *args) (err error) {
			*dst, err = a.integer("limit", 1, tiers.MaxPageSize, defaultLimit)
			return err
		}}
}

// pageTokenParam is the optional page token of a list or search.
func pageTokenParam(dst *string) param {
	return param{name: "page_token", schema: pageTokenSchema, noField: true,
		decode: func(a *args) (err error) { *dst, err = a.str("page_token", tiers.MaxPageTokenLen); return err }}
}

// enumParam is an optional string under name, one of values; def when absent.
func enumParam(name, desc, def string, values []string, dst *string) param {
	return param{name: name, noField: true,
		schema: func() schema { return enumOf(desc, values...) },
		decode: func(a *args) (err error) { *dst, err = a.enum(name, def, values...); return err }}
}

// textParam is an optional non-blank string under name of minLen..maxLen
// bytes (the decoder refuses blank text itself).
func textParam(name, desc string, minLen, maxLen int, dst *string) param {
	return param{name: name, noField: true,
		schema: func() schema {
			return schema{"type": "string", "description": desc, "minLength": minLen, "maxLength": maxLen}
		},
		decode: func(a *args) (err error) { *dst, err = a.str(name, maxLen); return err }}
}

// conditionsParam is an optional list of 1..max search conditions under name.
func conditionsParam(name, desc string, max int, dst *[]tiers.Condition) param {
	return param{name: name,
		schema: func() schema { return array(desc, conditionSchema(), 1, max) },
		decode: func(a *args) (err error) { *dst, err = a.conditions(name, max); return err },
		reach: func(field string) (any, bool) {
			return []map[string]any{{"field": field, "op": "equals", "value": "probe"}}, true
		},
		sample: func([]string) any {
			return []map[string]any{{"field": "Account_Name", "op": "starts_with", "value": "Acme"}}
		}}
}

// dataParam is the required data of a single-record write.
func dataParam(dst *tiers.Record) param {
	return param{name: "data", schema: dataSchema,
		need:   "an object of field API name → new value, e.g. {\"Phone\": \"+1 555 0100\"}",
		decode: func(a *args) (err error) { *dst, err = a.data("data", a.m["data"]); return err },
		reach:  func(field string) (any, bool) { return map[string]any{field: "probe"}, true },
		sample: func([]string) any { return map[string]any{"Ticker_Symbol": "PRB"} }}
}

// triggerParam is the optional trigger list of a write.
func triggerParam(dst *[]string) param {
	return param{name: "trigger", schema: triggerSchema, noField: true,
		decode: func(a *args) (err error) { *dst, err = a.trigger(); return err }}
}

// notBoth is the rule that the arguments x and y are not both given; set
// reports whether each was.
func notBoth(x, y string, set func() (bool, bool)) param {
	p := rule(func(*args) error {
		if a, b := set(); a && b {
			return argErr("give %s or %s, not both", x, y)
		}
		return nil
	})
	p.group = []string{x, y}
	return p
}

// exactlyOne is the rule that exactly one of keys is given.
func exactlyOne(keys ...string) param {
	p := rule(func(a *args) error {
		given := 0
		for _, k := range keys {
			if a.has(k) {
				given++
			}
		}
		if given != 1 {
			return argErr("give exactly one of %s (got %d)", orList(keys), given)
		}
		return nil
	})
	p.group, p.exactly = keys, true
	return p
}

// orList renders keys as "a, b, c or d".
func orList(keys []string) string {
	if len(keys) < 2 {
		return strings.Join(keys, "")
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " or " + keys[len(keys)-1]
}

// nameReach is the reach of an argument that lists field names: a list of
// the one field.
func nameReach(field string) (any, bool) { return []string{field}, true }

// implicitSearchParam is the optional search argument of kind (word, email
// or phone) on the module module() names: a search that matches fields the
// caller does not name, refused when the caller's profile denies any field
// it matches (permissions.DeniedSearch). example is a valid value.
func implicitSearchParam(kind permissions.SearchKind, desc string, minLen, maxLen int, module func() string, example string, dst *string) param {
	p := textParam(string(kind), desc, minLen, maxLen, dst)
	p.noField = false
	decode := p.decode
	p.decode = func(a *args) error {
		if err := decode(a); err != nil || *dst == "" {
			return err
		}
		if f, denied := a.prof.DeniedSearch(module(), kind, nil); denied {
			return argErr("%s: %s", kind, permissions.SearchRefusal(kind, module(), f, a.prof.Name))
		}
		return nil
	}
	p.reach = func(string) (any, bool) { return example, true }
	p.sample = func([]string) any { return example }
	return p
}

// sortByParam is the optional sort field, one of fields, refused when the
// caller's profile denies it: sorting by a field reveals its order.
func sortByParam(desc string, fields []string, dst *string) param {
	p := enumParam("sort_by", desc, "", fields, dst)
	p.noField = false
	decode := p.decode
	p.decode = func(a *args) error {
		if err := decode(a); err != nil || *dst == "" {
			return err
		}
		if a.prof.DeniedIn(a.mod(), *dst) {
			return argErr("sort_by: field %s is denied for profile %q; sort by another field", *dst, a.prof.Name)
		}
		return nil
	}
	p.reach = func(field string) (any, bool) { return field, slices.Contains(fields, field) }
	return p
}
