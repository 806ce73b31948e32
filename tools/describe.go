package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// describeParams are the arguments of describe_module.
type describeParams struct{ Module string }

func (p *describeParams) params() []param {
	return []param{{name: "module", noField: true, schema: func() schema {
		return fieldNameSchema("The module to describe, e.g. Contacts; omit it to list the modules.")
	},
		decode: func(a *args) error {
			if !a.has("module") {
				return nil
			}
			s, err := a.str("module", tiers.MaxAPINameLen)
			if err != nil {
				return err
			}
			return a.setModule(s, &p.Module)
		}}}
}

// moduleInfo is one module in describe_module's output.
type moduleInfo struct {
	APIName       string `json:"api_name"`
	SingularLabel string `json:"singular_label"`
	PluralLabel   string `json:"plural_label"`
	Custom        bool   `json:"custom"`
	Creatable     bool   `json:"creatable"`
	Editable      bool   `json:"editable"`
}

func infoOf(m tiers.ModuleMeta) moduleInfo {
	return moduleInfo{APIName: m.APIName, SingularLabel: m.SingularLabel, PluralLabel: m.PluralLabel, Custom: m.Custom, Creatable: m.Creatable, Editable: m.Editable}
}

// fieldInfo is one field in describe_module's output.
type fieldInfo struct {
	APIName        string   `json:"api_name"`
	Label          string   `json:"label"`
	Type           string   `json:"type"`
	Required       bool     `json:"required"`
	ReadOnly       bool     `json:"read_only"`
	Unique         bool     `json:"unique"`
	Custom         bool     `json:"custom"`
	MaxLength      int      `json:"max_length,omitempty"`
	PicklistValues []string `json:"picklist_values,omitempty"`
	Lookup         string   `json:"lookup,omitempty"`
	LookupModules  []string `json:"lookup_modules,omitempty"`
}

// relatedInfo is one related list in describe_module's output.
type relatedInfo struct {
	APIName string `json:"api_name"`
	Label   string `json:"label"`
	Module  string `json:"module"`
}

// describeOutput is describe_module's structured content: the modules, or
// one module with its fields and related lists.
type describeOutput struct {
	Modules           []moduleInfo  `json:"modules,omitempty"`
	Module            *moduleInfo   `json:"module,omitempty"`
	Fields            []fieldInfo   `json:"fields,omitempty"`
	RelatedLists      []relatedInfo `json:"related_lists,omitempty"`
	RelatedListsError string        `json:"related_lists_error,omitempty"`
}

func moduleInfoSchema(desc string) schema {
	return object(desc, schema{
		"api_name":       str("The module's API name, what the record tools take as module."),
		"singular_label": str("The module's name for one record, e.g. Contact."),
		"plural_label":   str("The module's name, e.g. Contacts."),
		"custom":         schema{"type": "boolean", "description": "True for a module the org created."},
		"creatable":      schema{"type": "boolean", "description": "True when create_records may add records."},
		"editable":       schema{"type": "boolean", "description": "True when update_records may change records."},
	}, "api_name", "singular_label", "plural_label", "custom", "creatable", "editable")
}

func describeSchema() schema {
	b := func(desc string) schema { return schema{"type": "boolean", "description": desc} }
	return object("Without module: modules. With module: module, fields and related_lists.", schema{
		"modules": array("The modules you may use.", moduleInfoSchema("One module."), 0, 0),
		"module":  moduleInfoSchema("The module described."),
		"fields": array("The module's fields you may see, in Zoho's order.", object("One field.", schema{
			"api_name":        str("The field's API name, what the record tools take."),
			"label":           str("The field's label in Zoho's screens."),
			"type":            str("Zoho's data type: text, textarea, email, phone, website, picklist, multiselectpicklist, integer, bigint, currency, double, decimal, percent, boolean, date, datetime, lookup, ownerlookup …"),
			"required":        b("True when a new record must set it (create_records)."),
			"read_only":       b("True when Zoho sets it: leave it out of writes."),
			"unique":          b("True when no two records may hold the same value."),
			"custom":          b("True for a field the org created."),
			"max_length":      integer("The most characters a text value may have.", 0, 0),
			"picklist_values": array("The values a picklist or multi-select field allows.", str("A value."), 0, 0),
			"lookup":          str("For a lookup: the module its records point to."),
			"lookup_modules":  array("For a lookup to several modules: those modules.", str("A module."), 0, 0),
		}, "api_name", "label", "type", "required", "read_only", "unique", "custom"), 0, 0),
		"related_lists": array("The module's related lists you may read (get_related_records).", object("One related list.", schema{
			"api_name": str("The list's API name, what get_related_records takes as related_list."),
			"label":    str("The list's label."),
			"module":   str("The module of the list's records."),
		}, "api_name", "label", "module"), 0, 0),
		"related_lists_error": str("Why the related lists could not be read, when they could not."),
	})
}

// DescribeModule is describe_module: the modules of the org, or one
// module's fields and related lists, as the caller may see them.
func DescribeModule(d Deps) Tool {
	d = d.withDefaults()
	const name = "describe_module"
	scopes := []permissions.Scope{permissions.ScopeRead}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Describe the Zoho CRM org's modules. Without module: the modules you may use, with their API names and labels. With module (e.g. Contacts): its fields (API name, label, type, required, read-only, unique, picklist values, lookup target, max length) and its related lists.",
			"Call it before writing to a module: the record tools check names and values against exactly this. Read-only; the answer comes from Zoho's metadata, cached for a few minutes.")),
		annotate(hints{title: "Describe module", readOnly: true, idempotent: true}),
		rawOutput(describeSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, in describeParams, prof *permissions.Profile) *mcp.CallToolResult {
		if in.Module == "" {
			if d.Metadata == nil {
				return errorResult(tiers.Route{}, "%s cannot run: the proxy was started without module metadata", name)
			}
			ms, err := d.Metadata.Modules(ctx)
			if err != nil {
				return failure(ctx, d.Logger, name, tiers.Route{}, about("reading the modules"), err)
			}
			out := describeOutput{Modules: []moduleInfo{}}
			var names []string
			for _, m := range ms {
				if prof.AllowsModule(m.APIName) {
					out.Modules = append(out.Modules, infoOf(m))
					names = append(names, m.APIName)
				}
			}
			return d.Text.success(tiers.Route{}, out, fmt.Sprintf("%d modules: %s. Call describe_module with module set to one of them for its fields.", len(names), strings.Join(names, ", ")))
		}
		m, res := d.resolve(ctx, name, in.Module, prof)
		if res != nil {
			return res
		}
		info := infoOf(m.ModuleMeta)
		out := describeOutput{Module: &info, Fields: []fieldInfo{}}
		required := []string{}
		for _, f := range m.Fields {
			if prof.DeniedIn(m.APIName, f.APIName) {
				continue
			}
			fi := fieldInfo{APIName: f.APIName, Label: f.Label, Type: f.DataType, Required: f.Required, ReadOnly: f.ReadOnly,
				Unique: f.Unique, Custom: f.Custom, MaxLength: f.Length, Lookup: f.Lookup, LookupModules: f.LookupModules}
			for _, p := range f.Picklist {
				fi.PicklistValues = append(fi.PicklistValues, p.Display)
			}
			if f.Required && !f.ReadOnly {
				required = append(required, f.APIName)
			}
			out.Fields = append(out.Fields, fi)
		}
		if m.RelatedErr != nil {
			out.RelatedListsError = "the related lists could not be read: " + describe(ctx, d.Logger, name, aboutIn(m.APIName, "the related lists of "+m.APIName), m.RelatedErr)
		}
		for _, rl := range m.Related {
			if prof.AllowsModule(rl.Module) {
				out.RelatedLists = append(out.RelatedLists, relatedInfo(rl))
			}
		}
		summary := fmt.Sprintf("Module %s (%s): %d fields", m.APIName, m.PluralLabel, len(out.Fields))
		if len(required) > 0 {
			summary += "; a new record needs " + strings.Join(required, ", ")
		}
		if len(out.RelatedLists) > 0 {
			var rl []string
			for _, r := range out.RelatedLists {
				rl = append(rl, r.APIName)
			}
			summary += "; related lists: " + strings.Join(rl, ", ")
		}
		return d.Text.success(tiers.Route{}, out, summary+".")
	})
}
