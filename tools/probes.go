package tools

import (
	"fmt"
	"reflect"
	"slices"
)

// DenyProbe is one call that tries to reach a field the caller is denied
// through one argument of a tool, for the security suite: every argument
// that can name a field, or search one by its values, must be refused
// before anything reaches Zoho. The probes come from the tools' declared
// params (param.reach, param.noField), so a new tool or argument is probed
// as soon as it exists.
type DenyProbe struct {
	// Tool and Param name the tool called and the argument probed.
	Tool, Param string
	// Field is the denied field the argument names or searches.
	Field string
	// Args are the whole call: the probed argument carries Field, the
	// others are valid and free of denied fields.
	Args map[string]any
	// NoField marks an argument that names no field: Args put Field's name
	// in it as a plain value, which must be refused as invalid or at least
	// never bring the field's values back.
	NoField bool
}

// String names the probe for test output.
func (p DenyProbe) String() string {
	return fmt.Sprintf("%s.%s/%s", p.Tool, p.Param, p.Field)
}

// DenyProbes returns the probes of every argument of every tool of ts for
// each field of deny: for an argument that can reach fields, one probe per
// field it can take (identical calls once); for one that names no field,
// one probe that puts deny[0]'s name in it. ids are real record ids for the
// arguments that need one. It returns an error when a tool's argument
// declares neither how it reaches fields nor that it names none.
func DenyProbes(ts []Tool, deny []string, ids []string) ([]DenyProbe, error) {
	if len(deny) == 0 || len(ids) == 0 {
		return nil, fmt.Errorf("deny probes need a denied field and a record id")
	}
	var out []DenyProbe
	for _, t := range ts {
		if t.params == nil {
			return nil, fmt.Errorf("tool %s was not made by newTool: its arguments are not declared", t.Def.Name)
		}
		ps := t.params()
		for _, p := range ps {
			if p.name == "" {
				continue
			}
			switch {
			case p.reach == nil && !p.noField:
				return nil, fmt.Errorf("%s.%s declares neither reach nor noField", t.Def.Name, p.name)
			case p.noField:
				args := baseArgs(ps, p.name, ids)
				args[p.name] = asValueOf(p, deny[0])
				out = append(out, DenyProbe{Tool: t.Def.Name, Param: p.name, Field: deny[0], Args: args, NoField: true})
				continue
			}
			var seen []any
			for _, f := range deny {
				v, ok := p.reach(f)
				if !ok || slices.ContainsFunc(seen, func(s any) bool { return reflect.DeepEqual(s, v) }) {
					continue
				}
				seen = append(seen, v)
				args := baseArgs(ps, p.name, ids)
				args[p.name] = v
				out = append(out, DenyProbe{Tool: t.Def.Name, Param: p.name, Field: f, Args: args})
			}
		}
	}
	return out, nil
}

// baseArgs returns a valid call of the tool whose params are ps that leaves
// room for the argument probed: the samples of the required arguments and
// of the first argument of each exactly-one group the probed one is not
// in, and none of the probed argument's group siblings.
func baseArgs(ps []param, probed string, ids []string) map[string]any {
	args := map[string]any{}
	for _, p := range ps {
		if p.name != "" && p.need != "" && p.name != probed && p.sample != nil {
			args[p.name] = p.sample(ids)
		}
	}
	for _, r := range ps {
		if len(r.group) == 0 {
			continue
		}
		if slices.Contains(r.group, probed) {
			for _, k := range r.group {
				if k != probed {
					delete(args, k)
				}
			}
			continue
		}
		if !r.exactly {
			continue
		}
		for _, p := range ps {
			if p.name == r.group[0] && p.sample != nil {
				args[p.name] = p.sample(ids)
			}
		}
	}
	return args
}

// asValueOf puts field's name in an argument that names no field, in the
// shape its schema asks for, so that only its meaning is wrong.
func asValueOf(p param, field string) any {
	switch p.schema()["type"] {
	case "array":
		return []any{field}
	case "object":
		return map[string]any{field: field}
	}
	return field
}
