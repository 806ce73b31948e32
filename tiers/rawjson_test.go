package tiers

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
)

func TestEachField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		obj      string
		wantKeys []string
		wantVals []string
		wantOK   bool
	}{
		{"compact", `{"id":"1","n":2,"o":{"a":[1,"}"]},"b":true,"z":null}`, []string{"id", "n", "o", "b", "z"}, []string{`"1"`, `2`, `{"a":[1,"}"]}`, `true`, `null`}, true},
		{"spaced", " {\n \"id\" : \"1\" ,\t\"s\" : \"a \\\" b\" , \"x\" : -1.5e3 }\n", []string{"id", "s", "x"}, []string{`"1"`, `"a \" b"`, `-1.5e3`}, true},
		{"escaped key kept as written", `{"a\"b":1}`, []string{`a\"b`}, []string{"1"}, true},
		{"empty", `{}`, nil, nil, true},
		{"array", `[{"id":"1"}]`, nil, nil, false},
		{"string", `"x"`, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var keys, vals []string
			ok := EachField([]byte(tt.obj), func(k, v []byte) bool {
				keys, vals = append(keys, string(k)), append(vals, string(v))
				return true
			})
			if ok != tt.wantOK || !reflect.DeepEqual(keys, tt.wantKeys) || !reflect.DeepEqual(vals, tt.wantVals) {
				t.Errorf("EachField = %v %q %q, want %v %q %q", ok, keys, vals, tt.wantOK, tt.wantKeys, tt.wantVals)
			}
		})
	}
}

func TestRawID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rec, want string
		ok              bool
	}{
		{"string id", `{"Account_Name":"A","id":"42"}`, "42", true},
		{"nested id ignored", `{"Owner":{"id":"7"},"id":"42"}`, "42", true},
		{"no id", `{"Owner":{"id":"7"}}`, "", true},
		{"number id", `{"id":42}`, "", true},
		{"case matters", `{"ID":"9"}`, "", true},
		{"escaped", `{"id":"4\u0032"}`, "42", true},
		{"escaped key", `{"i\u0064":"42"}`, "42", true},
		{"last duplicate wins", `{"id":"1","id":"2"}`, "2", true},
		{"null record", `null`, "", true},
		{"not a record", `17`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, ok := RawID([]byte(tt.rec))
			if id != tt.want || ok != tt.ok {
				t.Errorf("RawID(%s) = %q, %v; want %q, %v", tt.rec, id, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFilterAndProject(t *testing.T) {
	t.Parallel()
	rec := json.RawMessage(`{"id":"1","Account_Name":"A","Phone":"5","Owner":{"id":"7","Phone":"x"}}`)
	tests := []struct {
		name string
		got  json.RawMessage
		want string
	}{
		{"keep all returns the same bytes", FilterFields(rec, func([]byte) bool { return true }), string(rec)},
		{"drop one", FilterFields(rec, func(k []byte) bool { return string(k) != "Phone" }), `{"id":"1","Account_Name":"A","Owner":{"id":"7","Phone":"x"}}`},
		{"drop the first", FilterFields(rec, func(k []byte) bool { return string(k) != "id" }), `{"Account_Name":"A","Phone":"5","Owner":{"id":"7","Phone":"x"}}`},
		{"drop all", FilterFields(rec, func([]byte) bool { return false }), `{}`},
		{"project keeps id", ProjectRaw(rec, []string{"Phone"}), `{"id":"1","Phone":"5"}`},
		{"project nothing asked", ProjectRaw(rec, nil), string(rec)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if string(tt.got) != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

// FuzzEachField checks the walk against encoding/json on every valid
// object: the same keys (unescaped) with the same values.
func FuzzEachField(f *testing.F) {
	for _, s := range []string{`{"id":"1","n":[1,{"a":"]"}],"s":"\\\"}"}`, `{ "a" : { } , "b" : [ ] }`, `{"\u00e9":1e5}`, `{}`, `[]`, `[ {"id":"1"} , null,[1,"]"] ]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var wantElems []json.RawMessage
		isArr := json.Unmarshal(b, &wantElems) == nil && wantElems != nil
		var elems []string
		if got := EachElement(b, func(e []byte) bool { elems = append(elems, string(e)); return true }); got != isArr {
			t.Fatalf("EachElement(%s) ok = %v, encoding/json says array = %v", b, got, isArr)
		}
		for i := range wantElems {
			if i >= len(elems) || elems[i] != string(wantElems[i]) {
				t.Fatalf("EachElement(%s) = %q, encoding/json %q", b, elems, wantElems)
			}
		}
		if isArr && len(elems) != len(wantElems) {
			t.Fatalf("EachElement(%s) = %q, encoding/json %q", b, elems, wantElems)
		}
		var want map[string]json.RawMessage
		isObj := json.Unmarshal(b, &want) == nil && want != nil
		got := map[string]json.RawMessage{}
		ok := EachField(b, func(k, v []byte) bool {
			got[KeyString(k)] = append(json.RawMessage(nil), v...)
			return true
		})
		if ok != isObj {
			t.Fatalf("EachField(%s) ok = %v, encoding/json says object = %v", b, ok, isObj)
		}
		if !ok {
			return
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("EachField(%s) = %q, encoding/json %q", b, got, want)
		}
		if id, _ := RawID(b); id != stringField(want["id"]) {
			t.Fatalf("RawID(%s) = %q", b, id)
		}
		// Dropping every key whose name has an odd length leaves valid JSON
		// with exactly the others.
		odd := func(k []byte) bool { return len(KeyString(k))%2 == 1 }
		kept := FilterFields(b, func(k []byte) bool { return !odd(k) })
		var left map[string]json.RawMessage
		if err := json.Unmarshal(kept, &left); err != nil {
			t.Fatalf("FilterFields(%s) = %s: %v", b, kept, err)
		}
		maps.DeleteFunc(want, func(k string, _ json.RawMessage) bool { return len(k)%2 == 1 })
		if len(left) != len(want) {
			t.Fatalf("FilterFields(%s) = %s, want the keys of %q", b, kept, want)
		}
	})
}

func stringField(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// FuzzFieldIs holds FieldIs to how json.Unmarshal matches a key to a
// struct field: for every key of a valid one-key object, FieldIs(k, name)
// is whether decoding the object sets the field tagged name.
func FuzzFieldIs(f *testing.F) {
	for _, s := range []string{`"data"`, `"DATA"`, `"d\u0061ta"`, `"\u017F"`, `"K"`, "\"\u212a\"", `"k"`, `"Status"`,
		`"st\u0041tus"`, "\"\xff\"", `"dat"`, `"data "`, `""`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		var s string
		if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || json.Unmarshal(lit, &s) != nil {
			return
		}
		var v struct {
			Data   *int `json:"data"`
			K      *int `json:"K"`
			Status *int `json:"status"`
		}
		if json.Unmarshal(append(append([]byte("{"), lit...), ":1}"...), &v) != nil {
			return
		}
		key := lit[1 : len(lit)-1]
		for name, set := range map[string]bool{"data": v.Data != nil, "K": v.K != nil, "status": v.Status != nil} {
			if FieldIs(key, name) != set {
				t.Fatalf("FieldIs(%q, %q) = %v; json.Unmarshal sets the field: %v", key, name, !set, set)
			}
		}
	})
}
