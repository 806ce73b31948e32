package bulk

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// A Bulk Read job exports CSV text: numbers as digits, booleans as
// true/false, a lookup as its id, a multi-select joined with ';', empty as
// an empty cell (reference §7.3). COQL and the REST API answer JSON:
// numbers, booleans, null, lookups as objects. So that a record looks the
// same whichever path served it, a job's cells are typed by the module's
// field metadata (GET /crm/v8/settings/fields, json_type; reference §11):
//
//	integer, double     → a JSON number (json.Number, exact)
//	boolean             → true / false
//	jsonobject (lookup) → {"id": "<id>"}; Zoho's export has no name, so a
//	                      job's lookups carry the id only (COQL's may add
//	                      a name): compare lookups by id
//	jsonarray           → a list of the ';'-separated values
//	string, other       → the text as it is
//	empty               → null
//
// A column named Field.id (or Field.name) fills the lookup Field. Without
// metadata (the call failed), the standard fields of the module that
// zoho.FieldJSONTypes knows are typed and the rest stay text.

// fieldTypesTTL is how long a module's field metadata is reused.
const fieldTypesTTL = time.Hour

type fieldTypesEntry struct {
	types map[string]string // API name → json_type
	at    time.Time
}

// fieldTypeCache holds each module's field json_types.
type fieldTypeCache struct {
	mu sync.Mutex
	m  map[string]fieldTypesEntry
}

// fieldTypes returns module's field API name → json_type, read once an hour
// from Zoho's fields API (one call, one credit, counted in calls and
// credits); if that fails, zoho.FieldJSONTypes.
func (t *Tier) fieldTypes(ctx context.Context, module string, calls, credits *int) map[string]string {
	now := t.cfg.Now()
	t.types.mu.Lock()
	if e, ok := t.types.m[module]; ok && now.Sub(e.at) < fieldTypesTTL {
		t.types.mu.Unlock()
		return e.types
	}
	t.types.mu.Unlock()
	resp, err := t.zc.Do(ctx, zoho.Request{Path: "/crm/v8/settings/fields", Query: url.Values{"module": {module}}})
	*calls++
	types := map[string]string{}
	if err == nil {
		*credits++
		var body struct {
			Fields []struct {
				APIName  string `json:"api_name"`
				JSONType string `json:"json_type"`
			} `json:"fields"`
		}
		if !resp.Empty() {
			err = resp.Decode(&body)
		}
		for _, f := range body.Fields {
			if f.APIName != "" && f.JSONType != "" {
				types[f.APIName] = f.JSONType
			}
		}
	}
	if err != nil || len(types) == 0 {
		t.log.WarnContext(ctx, "no field metadata for typing bulk read values; standard fields only (grant ZohoCRM.settings.fields.READ)",
			"module", module, "error", errText(err))
		return zoho.FieldJSONTypes(module)
	}
	t.types.mu.Lock()
	if t.types.m == nil {
		t.types.m = map[string]fieldTypesEntry{}
	}
	t.types.m[module] = fieldTypesEntry{types: types, at: now}
	t.types.mu.Unlock()
	return types
}

func errText(err error) string {
	if err == nil {
		return "no fields"
	}
	return err.Error()
}

// csvRecord builds a record from a CSV row: head names the columns, types
// gives each field's json_type (see the comment above).
func csvRecord(head, row []string, types map[string]string) tiers.Record {
	rec := make(tiers.Record, len(head))
	for i, h := range head {
		cell := ""
		if i < len(row) {
			cell = row[i]
		}
		if field, part, ok := strings.Cut(h, "."); ok && (part == "id" || part == "name") {
			lk, _ := rec[field].(map[string]any)
			if cell == "" {
				if lk == nil {
					rec[field] = nil
				}
				continue
			}
			if lk == nil {
				lk = map[string]any{}
				rec[field] = lk
			}
			lk[part] = cell
			continue
		}
		rec[h] = csvValue(cell, types[h], h == "id")
	}
	return rec
}

// csvValue types one cell.
func csvValue(cell, jsonType string, isID bool) any {
	if cell == "" {
		return nil
	}
	if isID {
		return cell
	}
	switch jsonType {
	case "integer":
		if _, err := strconv.ParseInt(cell, 10, 64); err == nil {
			return json.Number(cell)
		}
	case "double":
		if _, err := strconv.ParseFloat(cell, 64); err == nil && json.Valid([]byte(cell)) {
			return json.Number(cell)
		}
	case "boolean":
		switch strings.ToLower(cell) {
		case "true":
			return true
		case "false":
			return false
		}
	case "jsonobject":
		return map[string]any{"id": cell}
	case "jsonarray":
		parts := strings.Split(cell, ";")
		out := make([]any, 0, len(parts))
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return cell
}
