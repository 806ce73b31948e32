package zoho_test

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

func ExampleCriteria() {
	crit, err := zoho.Criteria([]tiers.Condition{
		{Field: "Account_Name", Op: tiers.OpStartsWith, Values: []any{"Burns, (B)"}},
		{Field: "Employees", Op: tiers.OpGreaterThan, Values: []any{json.Number("100")}},
	}, false)
	if err != nil {
		panic(err)
	}
	fmt.Println(crit)
	fmt.Println(url.Values{"criteria": {crit}}.Encode())
	// Output:
	// ((Account_Name:starts_with:Burns\, \(B\))and(Employees:greater_than:100))
	// criteria=%28%28Account_Name%3Astarts_with%3ABurns%5C%2C+%5C%28B%5C%29%29and%28Employees%3Agreater_than%3A100%29%29
}

func ExampleCOQL() {
	q, err := zoho.COQL(zoho.COQLQuery{
		Module:  "Accounts",
		Select:  []string{"id", "Account_Name"},
		Where:   []tiers.Condition{{Field: "Billing_City", Op: tiers.OpEquals, Values: []any{"O'Fallon"}}},
		AfterID: "5725767000001000199",
		OrderBy: []zoho.Order{{Field: "id"}},
		Limit:   2000,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(q)
	// Output:
	// select id, Account_Name from Accounts where (Billing_City = 'O\'Fallon' and id > 5725767000001000199) order by id asc limit 2000
}

func ExampleDC() {
	dc, _ := zoho.DC("ca")
	fmt.Println(dc.TokenURL(), dc.APIDomain, dc.ContentURL)
	// Output:
	// https://accounts.zohocloud.ca/oauth/v2/token https://www.zohoapis.ca https://upload.zohocloud.ca
}
