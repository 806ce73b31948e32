package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// isModuleOp reports whether op is one of tiers.ModuleTier's.
func isModuleOp(op tiers.OpKind) bool {
	return op == tiers.OpCreate || op == tiers.OpRelated || op == tiers.OpMetadata
}

// module returns the tier as a tiers.ModuleTier, or nil.
func (ts *tierState) module() tiers.ModuleTier {
	m, _ := ts.impl.(tiers.ModuleTier)
	return m
}

// Related reads a page of a record's related list.
func (r *Router) Related(ctx context.Context, rc RoutingContext, req tiers.RelatedRequest) (tiers.Page, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpRelated, func(ctx context.Context, t tiers.Tier) (tiers.Page, error) {
		return t.(tiers.ModuleTier).Related(ctx, req)
	})
}

// Metadata reads the org's modules, or a module's fields or related lists.
func (r *Router) Metadata(ctx context.Context, rc RoutingContext, req tiers.MetadataRequest) (tiers.Metadata, tiers.Route, error) {
	return runOp(r, ctx, rc, tiers.OpMetadata, func(ctx context.Context, t tiers.Tier) (tiers.Metadata, error) {
		return t.(tiers.ModuleTier).Metadata(ctx, req)
	})
}

// DefaultCreateWindow is how long before a call began a record found by
// its fields may have been created and still count as the one the call
// created (Config.CreateWindow): the clocks of the proxy and Zoho differ a
// little, and Zoho's Created_Time has whole seconds.
const DefaultCreateWindow = 2 * time.Minute

// maxLookupFilters is how many equality filters a look-up of a record by its
// fields uses; maxLookupValue the longest value it filters on.
const (
	maxLookupFilters = 3
	maxLookupValue   = 200
)

// createState is the fate of one record of a create while the call runs.
type createState uint8

const (
	createToSend  createState = iota // not sent yet, or provably not applied: send it
	createUnknown                    // sent, no answer: look it up before anything else
	createResend                     // looked up, not found, safe to send again (sets a unique field)
	createSettled                    // final: its outcome is in the result
)

// Create inserts records. A record is never sent twice blindly: when a tier
// sends it and no answer comes (ClassOutcomeUnknown), the next tier that can
// serve looks it up by the fields it was created with (equality filters on a
// few of its values, newest first; every value it was sent with must match,
// and Zoho's Created_Time must fall inside the call, less CreateWindow). One
// match settles it as created (with that record's id); several leave it
// unknown. Not found, it is sent again only when it sets one of req.Unique:
// Zoho then refuses a second copy with DUPLICATE_DATA naming the first,
// which settles it as created once the first proves to be new. Without a
// unique field a record not found stays unknown: Zoho's search may not have
// indexed it yet, and a second copy cannot be taken back. The outcomes come
// back in input order; the error says why records are left unsettled.
func (r *Router) Create(ctx context.Context, rc RoutingContext, req tiers.CreateRequest) (tiers.CreateResult, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, tiers.OpCreate)
	n := len(req.Records)
	res := tiers.CreateResult{Outcomes: make([]tiers.CreateOutcome, n)}
	state := make([]createState, n)
	note := make([]string, n) // why an unsettled record is unknown
	finish := func(err error) (tiers.CreateResult, tiers.Route, error) {
		unknown := 0
		for i, st := range state {
			o := &res.Outcomes[i]
			switch st {
			case createToSend:
				*o = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusNotSent, Message: "not sent: no tier could serve it"}}
			case createUnknown, createResend:
				msg := note[i]
				if msg == "" {
					msg = "sent, but no answer came, and no tier could look it up"
				}
				*o = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
					Message: msg + "; it may or may not have been created: search for it before creating it again"}}
			}
			if o.Status == tiers.StatusUnknown {
				unknown++
			}
		}
		if err == nil && unknown > 0 {
			err = &tiers.Error{Tier: c.unknownTier(), Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
				Message: fmt.Sprintf("%d of %d records may or may not have been created: search for them before creating them again", unknown, n)}
		}
		return res, c.finish(), err
	}
	since := c.start.Add(-r.createWindow)

	for i := 0; i < c.n; i++ {
		// Look up the records whose create went unanswered.
		next := false
		for k := range state {
			if state[k] != createUnknown {
				continue
			}
			st, err := c.lookupCreated(i, req, k, since, &res.Outcomes[k], &state[k], &note[k])
			if st == stepNext {
				next = true
				break
			}
			if st == stepStop {
				return finish(err)
			}
		}
		if next {
			continue
		}
		var send []int
		for k, st := range state {
			if st == createToSend || st == createResend {
				send = append(send, k)
			}
		}
		if len(send) == 0 {
			break
		}
		sub := tiers.CreateRequest{Module: req.Module, Trigger: req.Trigger, Unique: req.Unique, Records: make([]tiers.Record, len(send))}
		for j, k := range send {
			sub.Records[j] = req.Records[k]
		}
		var got tiers.CreateResult
		called := false
		st, err := c.attempt(i, tiers.OpCreate, func(ctx context.Context, t tiers.Tier) (err error) {
			called = true
			got, err = t.(tiers.ModuleTier).Create(ctx, sub)
			return err
		})
		res.Calls += got.Calls
		settled := 0
		for j, k := range send {
			var o tiers.CreateOutcome
			if j < len(got.Outcomes) {
				o = got.Outcomes[j]
			} else {
				// No outcome from the tier: the error's class says
				// whether the record may have been written.
				o.Status = tiers.StatusNotSent
				var te *tiers.Error
				switch {
				case called && (tiers.Classify(err) == tiers.ClassOutcomeUnknown || st == stepStop && maybeSent(err)):
					o.Status = tiers.StatusUnknown
				case tiers.Classify(err) == tiers.ClassVerdict && errors.As(err, &te):
					o.Status, o.Code, o.Message, o.Details = tiers.StatusError, te.Code, te.Message, te.Details
				}
			}
			resent := state[k] == createResend
			switch o.Status {
			case tiers.StatusSuccess:
				res.Outcomes[k], state[k] = o, createSettled
				settled++
			case tiers.StatusError:
				if resent && o.Code == "DUPLICATE_DATA" {
					o = c.duplicateOfResend(i, req.Module, since, o)
				}
				res.Outcomes[k], state[k] = o, createSettled
				settled++
			case tiers.StatusNotSent:
				// sent as it is to the next tier (a resend stays one)
			default: // unknown, or anything a tier should not have said
				state[k] = createUnknown
				if resent {
					note[k] = "sent again after a look-up found nothing, and again no answer came"
				}
			}
		}
		if settled > 0 {
			c.servedBy(c.chain[i].name)
		}
		switch {
		case st == stepStop:
			return finish(err)
		case st == stepServed && err != nil: // a verdict on the whole request
			return finish(err)
		case st == stepServed && err == nil && slices.ContainsFunc(send, func(k int) bool { return state[k] != createSettled }):
			c.overrule(c.chain[i], &tiers.Error{Tier: c.chain[i].name, Class: tiers.ClassOutcomeUnknown,
				Message: "records were left without an outcome"})
		}
	}
	if slices.Contains(state, createToSend) && !slices.Contains(state, createUnknown) && !slices.Contains(state, createResend) {
		return finish(c.exhausted(nil))
	}
	return finish(nil)
}

// unknownTier is the tier where the call's last write went unanswered.
func (c *call) unknownTier() tiers.Name {
	for _, a := range slices.Backward(c.attempts) {
		if a.Outcome == tiers.AttemptOutcomeUnknown {
			return a.Tier
		}
	}
	return ""
}

// lookupCreated looks record k of req up through chain[i] by the fields it
// was created with and settles it in out/state when it can (see Create). It
// returns like attempt: stepNext when the tier failed (the record stays
// unknown for the next tier), stepStop when the call must stop.
func (c *call) lookupCreated(i int, req tiers.CreateRequest, k int, since time.Time, out *tiers.CreateOutcome, state *createState, note *string) (step, error) {
	rec := req.Records[k]
	filters, fields := lookupQuery(rec, req.Unique)
	if len(filters) == 0 {
		*state = createSettled
		*out = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
			Message: "sent, but no answer came, and it has no field the proxy can look it up by; it may or may not have been created: search for it before creating it again"}}
		return stepServed, nil
	}
	var page tiers.Page
	st, err := c.attempt(i, tiers.OpList, func(ctx context.Context, t tiers.Tier) (err error) {
		page, err = t.List(ctx, tiers.ListRequest{Module: req.Module, Filters: filters, Fields: fields,
			Limit: tiers.MaxPageSize, SortBy: "Created_Time", SortOrder: "desc"})
		return err
	})
	if st != stepServed {
		return st, err
	}
	tier := c.chain[i].name
	if err != nil { // a verdict on the look-up: it cannot settle the record
		*state = createSettled
		*out = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
			Message: "sent, but no answer came, and looking it up by its fields failed (" + err.Error() + "); it may or may not have been created: search for it before creating it again"}}
		return stepServed, nil
	}
	c.reconciled()
	var ids []string
	for _, got := range page.Records {
		if created(got, since) && matches(rec, got) {
			if id, ok := tiers.IDString(got["id"]); ok {
				ids = append(ids, id)
			}
		}
	}
	switch {
	case len(ids) == 1:
		*state = createSettled
		*out = tiers.CreateOutcome{Outcome: tiers.Outcome{ID: ids[0], Status: tiers.StatusSuccess,
			Message: fmt.Sprintf("reconciled: created by an earlier attempt whose answer was lost; found by its fields through %s", tier)}}
		c.servedBy(tier)
	case len(ids) > 1:
		*state = createSettled
		*out = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
			Message: fmt.Sprintf("sent, but no answer came, and %d new records hold its values (%s); check which one is yours before creating it again", len(ids), strings.Join(ids, ", "))}}
	case setsUnique(rec, req.Unique):
		*state = createResend
	default:
		*state = createSettled
		*out = tiers.CreateOutcome{Outcome: tiers.Outcome{Status: tiers.StatusUnknown, Code: "OUTCOME_UNKNOWN",
			Message: fmt.Sprintf("sent, but no answer came, and no record with its values was found through %s (Zoho's search may not have indexed it yet); it was not sent again, since it sets no unique field that would stop a second copy: search for it before creating it again", tier)}}
	}
	return stepServed, nil
}

// duplicateOfResend settles a record sent again after a look-up found
// nothing and refused by Zoho as a duplicate: when the record Zoho names was
// created inside the call, it is the one the lost attempt created (success,
// its id); otherwise the refusal stands.
func (c *call) duplicateOfResend(i int, module string, since time.Time, o tiers.CreateOutcome) tiers.CreateOutcome {
	dup := duplicateID(o.Details)
	if dup == "" {
		return o
	}
	var rec tiers.Record
	st, err := c.attempt(i, tiers.OpGet, func(ctx context.Context, t tiers.Tier) (err error) {
		rec, err = t.Get(ctx, tiers.GetRequest{Module: module, ID: dup, Fields: []string{"Created_Time"}})
		return err
	})
	if st != stepServed || err != nil {
		o.Message += "; the duplicate may be the record an earlier attempt of this call created (" + dup + "): read it before creating it again"
		return o
	}
	c.reconciled()
	if !created(rec, since) {
		return o
	}
	return tiers.CreateOutcome{Outcome: tiers.Outcome{ID: dup, Status: tiers.StatusSuccess,
		Message: fmt.Sprintf("reconciled: created by an earlier attempt whose answer was lost; Zoho refused a second copy as a duplicate of it (through %s)", c.chain[i].name)}}
}

// duplicateID returns the id of the record a DUPLICATE_DATA verdict names:
// details.duplicate_record.id, else details.id.
func duplicateID(d map[string]any) string {
	if dr, ok := d["duplicate_record"].(map[string]any); ok {
		if id, ok := tiers.IDString(dr["id"]); ok && tiers.IsRecordID(id) {
			return id
		}
	}
	if id, ok := tiers.IDString(d["id"]); ok && tiers.IsRecordID(id) {
		return id
	}
	return ""
}

// lookupQuery returns the equality filters that find rec and the fields to
// read back to check it: its unique fields first, then its other short text
// values, then numbers and booleans, at most maxLookupFilters; the fields
// are every field rec sets (at most what one read takes) and Created_Time.
func lookupQuery(rec tiers.Record, unique []string) ([]tiers.Condition, []string) {
	keys := sortedKeys(rec)
	var filters []tiers.Condition
	add := func(k string) {
		if len(filters) == maxLookupFilters || slices.ContainsFunc(filters, func(c tiers.Condition) bool { return c.Field == k }) {
			return
		}
		filters = append(filters, tiers.Condition{Field: k, Op: tiers.OpEquals, Values: []any{rec[k]}})
	}
	for _, k := range keys {
		if slices.Contains(unique, k) && filterable(k, rec[k], true) {
			add(k)
		}
	}
	for _, k := range keys {
		if filterable(k, rec[k], true) {
			add(k)
		}
	}
	for _, k := range keys {
		if filterable(k, rec[k], false) {
			add(k)
		}
	}
	var fields []string
	for _, k := range keys {
		if !strings.HasPrefix(k, "$") && len(fields) < tiers.MaxFields-1 {
			fields = append(fields, k)
		}
	}
	if !slices.Contains(fields, "Created_Time") {
		fields = append(fields, "Created_Time")
	}
	return filters, fields
}

// filterable reports whether value v of field k can be looked up by
// equality: a short non-blank string (text only) or a number or boolean.
func filterable(k string, v any, text bool) bool {
	if !tiers.IsAPIName(k) {
		return false
	}
	if s, ok := v.(string); ok {
		return text && strings.TrimSpace(s) != "" && len(s) <= maxLookupValue && !strings.ContainsAny(s, "\r\n")
	}
	if text {
		return false
	}
	switch v.(type) {
	case bool:
		return true
	}
	_, ok := number(v)
	return ok
}

// setsUnique reports whether rec gives one of the unique fields a value.
func setsUnique(rec tiers.Record, unique []string) bool {
	for _, f := range unique {
		if v, ok := rec[f]; ok && !isEmpty(v) {
			return true
		}
	}
	return false
}

// matches reports whether got, read back, holds every value rec was created
// with (the fields got was read with; Zoho's $ keys aside).
func matches(rec, got tiers.Record) bool {
	n := 0
	for k, v := range rec {
		if strings.HasPrefix(k, "$") {
			continue
		}
		gv, ok := got[k]
		if !ok {
			continue // not read back (more fields than one read takes)
		}
		if !sameValue(v, gv) {
			return false
		}
		n++
	}
	return n > 0
}

// created reports whether rec's Created_Time is at or after since. A
// record without a readable Created_Time counts (the window is a guard
// against older look-alikes, not a proof).
func created(rec tiers.Record, since time.Time) bool {
	s, ok := rec["Created_Time"].(string)
	if !ok {
		return true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return true
	}
	return !t.Before(since.Truncate(time.Second))
}
