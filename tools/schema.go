package tools

import (
	"encoding/json"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// schema is a JSON Schema node. Schemas are written by hand next to the
// params struct they describe; a test checks that the two agree.
type schema = map[string]any

// object is a strict object schema: additionalProperties false.
func object(desc string, props schema, required ...string) schema {
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if desc != "" {
		s["description"] = desc
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// openObject is an object schema that allows any other keys (records).
func openObject(desc string, props schema, required ...string) schema {
	s := object(desc, props, required...)
	s["additionalProperties"] = true
	return s
}

func str(desc string) schema { return schema{"type": "string", "description": desc} }

func integer(desc string, min, max int) schema {
	s := schema{"type": "integer", "description": desc, "minimum": min}
	if max > 0 {
		s["maximum"] = max
	}
	return s
}

func enumOf(desc string, values ...string) schema {
	return schema{"type": "string", "description": desc, "enum": values}
}

func array(desc string, items schema, min, max int) schema {
	s := schema{"type": "array", "description": desc, "items": items}
	if min > 0 {
		s["minItems"] = min
	}
	if max > 0 {
		s["maxItems"] = max
	}
	return s
}

func idSchema(desc string) schema {
	return schema{"type": "string", "description": desc, "pattern": tiers.RecordIDPattern}
}

func fieldNameSchema(desc string) schema {
	return schema{"type": "string", "description": desc, "pattern": tiers.APINamePattern, "maxLength": tiers.MaxAPINameLen}
}

// fieldNamesSchema is the propertyNames of an object keyed by field API
// names.
func fieldNamesSchema() schema { return schema{"pattern": tiers.APINamePattern} }

func fieldsSchema() schema {
	return array("Field API names to return (e.g. [\"Account_Name\", \"Phone\"]); omit for all fields. At most 50.",
		fieldNameSchema("A Zoho field API name."), 1, tiers.MaxFields)
}

func scalarSchema(desc string) schema {
	return schema{"type": []string{"string", "number", "boolean"}, "description": desc}
}

func conditionSchema() schema {
	return object("One condition: field op value.", schema{
		"field": fieldNameSchema("Field API name, e.g. Industry."),
		"op":    enumOf("Operator. in takes an array of 1–100 values; between takes [low, high]; the others one value.", operatorNames()...),
		"value": schema{
			"description": "A string, number or boolean; an array for in and between.",
			"type":        []string{"string", "number", "boolean", "array"},
			"items":       scalarSchema("One value."),
			"maxItems":    tiers.MaxInValues,
		},
	}, "field", "op", "value")
}

func limitSchema() schema {
	s := integer("Records per page, 1–200.", 1, tiers.MaxPageSize)
	s["default"] = defaultLimit
	return s
}

func pageTokenSchema() schema {
	return schema{"type": "string", "description": "Opaque next_page_token from the previous page of the same query; omit for the first page.", "maxLength": tiers.MaxPageTokenLen}
}

func recordSchema() schema {
	return openObject("One account: field API name → value. Denied fields are never present.",
		schema{"id": str("The account's id (1–19 digits).")}, "id")
}

func listOutputSchema() schema {
	return object("", schema{
		"accounts":        array("The accounts of this page.", recordSchema(), 0, 0),
		"count":           integer("Number of accounts in this page.", 0, 0),
		"more_records":    schema{"type": "boolean", "description": "True when another page exists: pass next_page_token as page_token."},
		"next_page_token": str("Token for the next page; present only when more_records is true."),
	}, "accounts", "count", "more_records")
}

func writeOutputSchema(bulk bool) schema {
	props := schema{
		"results": array("One outcome per requested account, in request order.", object("", schema{
			"id":      str("The account's id."),
			"status":  enumOf("success, or error when this record was not (or maybe not) written.", "success", "error"),
			"code":    str("Zoho's error code, or OUTCOME_UNKNOWN / NOT_SENT from the proxy."),
			"message": str("What happened and what to do next."),
		}, "id", "status"), 0, 0),
		"total":     integer("Accounts requested.", 0, 0),
		"succeeded": integer("Accounts written.", 0, 0),
		"failed":    integer("Accounts not written or whose outcome is unknown.", 0, 0),
	}
	req := []string{"results", "total", "succeeded", "failed"}
	if bulk {
		props["strategy"] = str("How the tier did the work, e.g. batched-put or bulk-write-job; empty if not applicable.")
		props["calls"] = integer("Zoho API calls made.", 0, 0)
		props["credits"] = integer("Zoho API credits spent (estimate).", 0, 0)
		req = append(req, "strategy", "calls", "credits")
	}
	return object("", props, req...)
}

// bulkWriteSchema is the output schema of a bulk write of noun: a write's,
// with the bulk fields (bulkWriteProps).
func bulkWriteSchema(noun string) schema {
	s := writeOutputSchema(true)
	bulkWriteProps(s["properties"].(schema), noun)
	return s
}

// rawInput sets the tool's input schema to s, and only s: mcp.NewTool
// starts every tool with a default object schema that must be cleared, or
// the tool cannot be marshaled.
func rawInput(s schema) mcp.ToolOption {
	return func(t *mcp.Tool) {
		t.InputSchema = mcp.ToolInputSchema{}
		t.RawInputSchema = mustJSON(s)
	}
}

// rawOutput sets the tool's output schema to s.
func rawOutput(s schema) mcp.ToolOption {
	return func(t *mcp.Tool) {
		t.OutputSchema = mcp.ToolOutputSchema{}
		t.RawOutputSchema = mustJSON(s)
	}
}

func mustJSON(s schema) json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic("tools: schema does not marshal: " + err.Error())
	}
	return b
}

// lines joins description paragraphs.
func lines(ps ...string) string { return strings.Join(ps, "\n") }
