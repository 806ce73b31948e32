package zohosim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Refresh a token with the REST credential, then read one seeded account.
func ExampleStart() {
	sim, err := zohosim.Start(zohosim.Options{Accounts: 10})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	c := sim.RESTCredential()
	resp, err := http.PostForm(sim.AccountsURL()+"/oauth/v2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "refresh_token": {c.RefreshToken}})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		APIDomain   string `json:"api_domain"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	req, _ := http.NewRequest("GET", tok.APIDomain+"/crm/v8/Accounts/5725767000001000003?fields=Account_Name,Phone", nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
	req.Close = true
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"data":[{"id":"5725767000001000003","Account_Name":"Initech Corp 3","Phone":"+1 555 0003"}]}
}
