package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Prompt is an MCP prompt of the proxy: its definition, its handler, and
// the tools and modules its instructions use. The server lists it only to a
// caller who may use all of them (and only while those tools are enabled).
type Prompt struct {
	Def     mcp.Prompt
	Handler server.PromptHandlerFunc
	Tools   []string
	Modules []string
}

// Prompts returns the proxy's prompts: recipes that help an agent use the
// tools well.
func Prompts() []Prompt {
	return []Prompt{AccountBrief(), FindAndUpdateSafely(), CreateRecordsSafely()}
}

// promptArgs returns the prompt's arguments, refusing a call without a
// required one or with one it does not take.
func promptArgs(req mcp.GetPromptRequest, p mcp.Prompt) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range req.Params.Arguments {
		known := false
		for _, a := range p.Arguments {
			known = known || a.Name == k
		}
		if !known {
			return nil, fmt.Errorf("prompt %s takes no argument %q", p.Name, k)
		}
		out[k] = strings.TrimSpace(v)
	}
	for _, a := range p.Arguments {
		if a.Required && out[a.Name] == "" {
			return nil, fmt.Errorf("prompt %s needs the argument %s: %s", p.Name, a.Name, a.Description)
		}
	}
	return out, nil
}

// userPrompt is a prompt result of one user message.
func userPrompt(desc, text string) *mcp.GetPromptResult {
	return mcp.NewGetPromptResult(desc, []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))})
}

// AccountBrief is account_brief: an account, its contacts and its open
// deals in one short brief.
func AccountBrief() Prompt {
	def := mcp.NewPrompt("account_brief",
		mcp.WithPromptTitle("Account brief"),
		mcp.WithPromptDescription("Brief me on one Zoho CRM account: its key facts, its contacts and its open deals."),
		mcp.WithArgument("account", mcp.ArgumentDescription("The account's id (1–19 digits), or the start of its name."), mcp.RequiredArgument()),
	)
	return Prompt{Def: def, Tools: []string{"search_records", "get_record", "get_related_records"}, Modules: []string{"Accounts", "Contacts", "Deals"},
		Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a, err := promptArgs(req, def)
			if err != nil {
				return nil, err
			}
			find := fmt.Sprintf("The account is %q. If that is not a record id (1–19 digits), find it first with search_records {\"module\": \"Accounts\", \"where\": [{\"field\": \"Account_Name\", \"op\": \"starts_with\", \"value\": %q}], \"limit\": 5}; if several accounts match, list them (name and id) and ask me which one, and stop there.", a["account"], a["account"])
			return userPrompt("Account brief", lines(
				"Write a short brief on one Zoho CRM account.",
				find,
				"1. get_record {\"module\": \"Accounts\", \"record_id\": <id>} for the account: name, industry, owner, phone, website, annual revenue if present.",
				"2. get_related_records {\"module\": \"Accounts\", \"record_id\": <id>, \"related_list\": \"Contacts\", \"fields\": [\"Full_Name\", \"Email\", \"Phone\", \"Title\"]}: the people, with their role and how to reach them.",
				"3. get_related_records {\"module\": \"Accounts\", \"record_id\": <id>, \"related_list\": \"Deals\", \"fields\": [\"Deal_Name\", \"Stage\", \"Amount\", \"Closing_Date\"]}: the open deals are those whose Stage does not start with \"Closed\"; give each its stage, amount and closing date, and the total open amount.",
				"Follow next_page_token when more_records is true. Use only what the tools return; a field that is absent may be denied to you, so do not guess it. End with two or three points worth raising with this account.",
			)), nil
		}}
}

// FindAndUpdateSafely is find_and_update_safely: find exactly one record,
// check the change against the module's fields, update it, read it back.
func FindAndUpdateSafely() Prompt {
	def := mcp.NewPrompt("find_and_update_safely",
		mcp.WithPromptTitle("Find and update a record safely"),
		mcp.WithPromptDescription("Find exactly one Zoho CRM record and change it, checking the fields and values first and reading the record back after."),
		mcp.WithArgument("module", mcp.ArgumentDescription("The module's API name, e.g. Contacts or Deals."), mcp.RequiredArgument()),
		mcp.WithArgument("find", mcp.ArgumentDescription("What identifies the record, e.g. \"the contact ada@example.com\" or \"deal Apollo renewal\"."), mcp.RequiredArgument()),
		mcp.WithArgument("change", mcp.ArgumentDescription("The change to make, e.g. \"set Stage to Closed Won\"."), mcp.RequiredArgument()),
	)
	return Prompt{Def: def, Tools: []string{"describe_module", "search_records", "get_record", "update_records"},
		Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a, err := promptArgs(req, def)
			if err != nil {
				return nil, err
			}
			return userPrompt("Find and update safely", lines(
				fmt.Sprintf("In the Zoho CRM module %q, find %q and make this change: %q.", a["module"], a["find"], a["change"]),
				fmt.Sprintf("1. describe_module {\"module\": %q}: learn the fields' API names and types, which are read-only, and the picklist values allowed. Map the change onto API names and allowed values; if it cannot be expressed with them, say so and stop.", a["module"]),
				"2. search_records with where conditions (or email / phone) that pin the record down. If no record or more than one matches, show what you found and ask me; never update more than the one record I mean.",
				"3. get_record for that id and show me the current values of the fields you will change next to the new ones.",
				"4. update_records with that one {id, data}, data holding only the fields to change.",
				"5. If the result says OUTCOME_UNKNOWN, read the record with get_record before anything else: it may already hold the change; never send the update again blindly. Otherwise confirm with get_record that the new values are there.",
			)), nil
		}}
}

// CreateRecordsSafely is create_records_safely: required fields and
// allowed values first, a search for duplicates, then the create.
func CreateRecordsSafely() Prompt {
	def := mcp.NewPrompt("create_records_safely",
		mcp.WithPromptTitle("Create records safely"),
		mcp.WithPromptDescription("Create Zoho CRM records with every required field and allowed value, after checking they do not exist yet."),
		mcp.WithArgument("module", mcp.ArgumentDescription("The module's API name, e.g. Contacts, Deals or a custom module."), mcp.RequiredArgument()),
		mcp.WithArgument("records", mcp.ArgumentDescription("The records to create, in words or as a list."), mcp.RequiredArgument()),
	)
	return Prompt{Def: def, Tools: []string{"describe_module", "search_records", "create_records"},
		Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a, err := promptArgs(req, def)
			if err != nil {
				return nil, err
			}
			return userPrompt("Create records safely", lines(
				fmt.Sprintf("Create these records in the Zoho CRM module %q: %q.", a["module"], a["records"]),
				fmt.Sprintf("1. describe_module {\"module\": %q}: every required field must be set, picklist fields take only their listed values, read-only fields must be left out, lookups take {\"id\": \"<record id>\"} (find those ids with search_records).", a["module"]),
				"2. For each record, search_records on its unique or identifying fields (email, name) to see whether it exists already; skip and report the ones that do.",
				"3. create_records with the rest in one call (at most 100). Report every record's outcome: its new id, or Zoho's code and message.",
				"4. A record with OUTCOME_UNKNOWN may have been created: search for it before creating it again. Fix and resend only the records Zoho refused with a verdict.",
			)), nil
		}}
}
