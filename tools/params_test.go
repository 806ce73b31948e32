package tools

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// TestParserReuse: a tool's parser, which reuses its bound params call
// after call, gives for every tool and body what a parser that never parsed
// before gives (value, also the partial one of a failure, and error), after
// it has parsed every other body; it fails if a bound P were not zeroed, or
// a decoder kept state between calls.
func TestParserReuse(t *testing.T) {
	bodies := []string{
		`{"account_id":"3652397000000000001","fields":["Phone","Annual_Revenue"]}`, `{"account_id":"2"}`, `{}`,
		`{"ids":["1","2"],"limit":5,"sort_by":"id","sort_order":"desc","page_token":"x"}`, `{"limit":7}`,
		`{"filters":{"Industry":"Retail"}}`, `{"where":[{"field":"A","op":"in","value":["a",1,true]}],"match":"any"}`,
		`{"word":"acme","limit":200}`, `{"email":"a@b.c"}`, `{"email":"nope"}`,
		`{"account_id":"1","data":{"A":{"id":"1"},"C":null},"trigger":["workflow"]}`, `{"account_id":"1","data":{"B":2}}`,
		`{"updates":[{"id":"1","data":{"A":1}},{"id":"2","data":{"B":2}}],"trigger":[]}`, `{"updates":[{"id":"3","data":{"A":1}}]}`,
		`{"module":"Contacts","record_id":"1","fields":["Email"]}`, `{"module":"Leads","ids":["1"]}`,
		`{"module":"Accounts","record_id":"1","related_list":"Contacts","fields":["Last_Name"]}`,
		`{"module":"Deals","updates":[{"id":"1","data":{"Stage":"x"}}],"trigger":[]}`, `{"module":"Deals","updates":[{"id":"1","data":{"Stage":"x"}}]}`,
	}
	reused := All(Deps{})
	for round := range 2 {
		for _, body := range bodies {
			fresh := All(Deps{})
			for i, tl := range reused {
				got, gotErr := tl.parse([]byte(body), profAll)
				want, wantErr := fresh[i].parse([]byte(body), profAll)
				if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Errorf("round %d, %s %s: reused parser gave %+v, %v; a fresh one %+v, %v", round, tl.Def.Name, body, got, gotErr, want, wantErr)
				}
			}
		}
	}
}

// TestParserConcurrent: calls parsing at once with one parser each get
// their own arguments (run with -race).
func TestParserConcurrent(t *testing.T) {
	pr := newParser[getAccountParams]()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprint(g*1000 + i + 1)
				p, err := pr.parse([]byte(`{"account_id":"`+id+`","fields":["F`+id+`"]}`), profAll)
				if err != nil || p.ID != id || len(p.Fields) != 1 || p.Fields[0] != "F"+id {
					t.Errorf("parsed %s as %+v, %v", id, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
