package zohosim

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "tab\tnl\n", "<&>", "\u2028\u2029", "Zürich Ōsaka", "\xff\xfe", "\x00\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 1.5, 1250000, 1e-7, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		if err != nil {
			return // NaN and Inf: encoding/json refuses them
		}
		if got := appendFloat(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}

func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	st := NewStore(300, 3, nil)
	st.Each(func(r Record) bool {
		r["Owner.name"] = "dotted"
		r["Big"] = map[string]any{"z": []any{1, "x"}, "a": nil}
		got := appendRecord(nil, r, accounts)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		want, _ := json.Marshal(r)
		_ = json.Unmarshal(want, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("record %v:\n got %s\nwant %s", r["id"], gb, wb)
		}
		return true
	})
}
