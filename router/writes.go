package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// maxReadBack is how many records one read-back call asks for (Zoho's ids
// parameter takes at most 100).
const maxReadBack = 100

const unknownAdvice = "the update may or may not have been applied; read the record before retrying"

// Update writes one record. When a tier sends the update and gets no answer
// (ClassOutcomeUnknown), nothing is sent again blindly: the next tier that can
// serve reads the record back, and only the fields whose values are not yet
// applied are re-sent through it. If the record cannot be read back, the
// error is a ClassOutcomeUnknown *tiers.Error and the outcome StatusUnknown.
func (r *Router) Update(ctx context.Context, rc RoutingContext, req tiers.UpdateRequest) (tiers.Outcome, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, tiers.OpUpdate)
	data := req.Data
	ambiguous := false // an earlier tier may have applied some of data
	for i := range c.n {
		readBack := false
		if ambiguous {
			var rec tiers.Record
			st, err := c.attempt(i, tiers.OpGet, func(ctx context.Context, t tiers.Tier) (err error) {
				rec, err = t.Get(ctx, tiers.GetRequest{Module: req.Module, ID: req.ID, Fields: sortedKeys(data)})
				return err
			})
			switch {
			case st == stepNext:
				continue
			case st == stepStop:
				return c.unknownUpdate(req, err)
			case err != nil: // a verdict on the read, e.g. the record does not exist
				return tiers.Outcome{ID: req.ID, Status: tiers.StatusError, Code: codeOf(err), Message: err.Error()}, c.finish(), err
			}
			c.reconciled()
			readBack = true
			before := len(data)
			data = unapplied(data, rec)
			if len(data) == 0 {
				return tiers.Outcome{ID: req.ID, Status: tiers.StatusSuccess,
					Message: fmt.Sprintf("reconciled: the update had already been applied (%d fields read back through %s)", before, c.chain[i].name)}, c.finish(), nil
			}
		}
		var out tiers.Outcome
		full := len(req.Data)
		sent := false
		st, err := c.attempt(i, tiers.OpUpdate, func(ctx context.Context, t tiers.Tier) (err error) {
			sent = true
			out, err = t.Update(ctx, tiers.UpdateRequest{Module: req.Module, ID: req.ID, Data: data, Trigger: req.Trigger})
			return err
		})
		switch st {
		case stepServed:
			if err == nil && readBack {
				out.Message = strings.TrimSpace(fmt.Sprintf("reconciled: re-sent the %d of %d fields not yet applied. %s", len(data), full, out.Message))
			}
			return out, c.finish(), err
		case stepStop:
			if ambiguous || sent {
				return c.unknownUpdate(req, err)
			}
			return tiers.Outcome{ID: req.ID, Status: tiers.StatusNotSent, Message: "not sent: " + err.Error()}, c.finish(), err
		}
		if tiers.Classify(err) == tiers.ClassOutcomeUnknown {
			ambiguous = true
		}
	}
	if ambiguous {
		return c.unknownUpdate(req, c.exhausted(nil))
	}
	return tiers.Outcome{ID: req.ID, Status: tiers.StatusNotSent, Message: "not sent: no tier could serve it"}, c.finish(), c.exhausted(nil)
}

// unknownUpdate ends an update whose outcome could not be settled. The
// caller's cancellation stays the error (wrapped, so that errors.Is finds it).
func (c *call) unknownUpdate(req tiers.UpdateRequest, cause error) (tiers.Outcome, tiers.Route, error) {
	out := tiers.Outcome{ID: req.ID, Status: tiers.StatusUnknown, Message: unknownAdvice}
	if perr := c.parent.Err(); perr != nil {
		return out, c.finish(), fmt.Errorf("%w (%s)", perr, unknownAdvice)
	}
	// The cause is the last tier failure, not an UnavailableError: this is
	// not "nothing was sent".
	var ue *UnavailableError
	if errors.As(cause, &ue) {
		cause = ue.Last
	}
	e := &tiers.Error{Class: tiers.ClassOutcomeUnknown, Message: unknownAdvice, Err: cause}
	for _, a := range slices.Backward(c.attempts) {
		if a.Outcome == tiers.AttemptOutcomeUnknown {
			e.Tier = a.Tier // where the write went unanswered
			break
		}
	}
	return out, c.finish(), e
}

// CodeJobPending is the Outcome.Code of a record left pending on a bulk job
// that had not finished when the call ended (see BulkUpdate, AwaitBulkJob).
const CodeJobPending = "JOB_PENDING"

// pending is a record of a bulk update not yet settled.
type pending struct {
	idx     int          // position in the request
	data    tiers.Record // what still has to be written
	unknown bool         // sent once and no answer came: read back before sending
	job     string       // pending on this job of jobTier: never read back or sent again
}

// BulkUpdate writes many records. Per-record outcomes from a tier that then
// failed stay final when they are success or error; records the tier never
// sent go to the next tier as they are; records whose outcome is unknown are
// read back there (by IDs, at most 100 per call) and only their unapplied
// fields are re-sent. A record confirmed once is never sent again. The
// outcomes come back in input order; Calls and Credits are summed over the
// tiers and Strategy names what each serving tier did. If records remain
// unsettled the result still holds every outcome and the error says why.
func (r *Router) BulkUpdate(ctx context.Context, rc RoutingContext, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, tiers.OpBulkUpdate)
	res := tiers.BulkUpdateResult{Outcomes: make([]tiers.Outcome, len(req.Updates))}
	todo := make([]pending, len(req.Updates))
	for i, u := range req.Updates {
		todo[i] = pending{idx: i, data: u.Data}
	}
	var strategies []string
	var parked []pending // records pending on a job of jobTier: not to be sent again
	var jobTier tiers.Name
	finish := func(err error) (tiers.BulkUpdateResult, tiers.Route, error) {
		for _, p := range parked {
			res.Outcomes[p.idx] = tiers.Outcome{ID: req.Updates[p.idx].ID, Status: tiers.StatusUnknown, Code: CodeJobPending,
				Message: fmt.Sprintf("pending on %s job %s, which had not finished when the call ended; Zoho runs it whether or not anyone waits, so the record was not sent again: check the job, or read the record back once it has finished", jobTier, p.job)}
		}
		for _, p := range todo {
			o := tiers.Outcome{ID: req.Updates[p.idx].ID, Status: tiers.StatusNotSent, Message: "not sent: no tier could serve it"}
			if p.unknown {
				o.Status, o.Message = tiers.StatusUnknown, "sent, but no answer came: "+unknownAdvice
			}
			res.Outcomes[p.idx] = o
		}
		res.Strategy = strings.Join(strategies, "+")
		return res, c.finish(), err
	}
	served := tiers.Name("")

	for i := 0; i < c.n && len(todo) > 0; i++ {
		ts := c.chain[i]
		// Read back the records whose outcome is unknown.
		st, err := c.readBack(i, req, todo, res.Outcomes)
		switch st {
		case stepNext:
			continue
		case stepStop:
			return finish(err)
		}
		if err != nil { // a verdict on the read-back
			return finish(err)
		}
		todo = slices.DeleteFunc(todo, func(p pending) bool { return res.Outcomes[p.idx].Status != "" })
		if len(todo) == 0 {
			served = ts.name
			break
		}

		send := tiers.BulkUpdateRequest{Module: req.Module, Trigger: req.Trigger, Updates: make([]tiers.UpdateRequest, len(todo))}
		for k, p := range todo {
			u := req.Updates[p.idx]
			send.Updates[k] = tiers.UpdateRequest{Module: u.Module, ID: u.ID, Data: p.data, Trigger: u.Trigger}
		}
		var got tiers.BulkUpdateResult
		called := false
		settled := len(req.Updates) - len(todo) - len(parked)
		st, err = c.attempt(i, tiers.OpBulkUpdate, func(ctx context.Context, t tiers.Tier) (err error) {
			called = true
			got, err = t.BulkUpdate(offsetProgress(ctx, settled, len(req.Updates)), send)
			return err
		})
		if got.Outcomes == nil && err != nil {
			// No per-record outcomes: the error's class says whether the
			// records may have been written.
			cls := tiers.Classify(err)
			if called && (cls == tiers.ClassOutcomeUnknown || st == stepStop) {
				for k := range todo {
					todo[k].unknown = true
				}
			}
			if st == stepNext {
				continue
			}
			return finish(err)
		}
		res.Calls += got.Calls
		res.Credits += got.Credits
		settled = merge(req, todo, got.Outcomes, res.Outcomes)
		if job := tiers.PendingJobOf(err); job != "" {
			// Zoho runs the job whatever happens here: its records are
			// settled by it alone. Wait for it if the tier can.
			for k := range todo {
				if todo[k].unknown && res.Outcomes[todo[k].idx].Status == "" {
					todo[k].job = job
				}
			}
			if aw, ok := ts.impl.(tiers.JobAwaiter); ok && st != stepStop {
				jgot, n := c.awaitJob(i, aw, job, req, todo, res.Outcomes)
				res.Calls += jgot.Calls
				res.Credits += jgot.Credits
				if n > 0 {
					settled += n
					got.Strategy = jgot.Strategy
				}
			}
			for _, p := range todo {
				if p.job != "" && res.Outcomes[p.idx].Status == "" {
					parked = append(parked, p)
					jobTier = ts.name
				}
			}
			todo = slices.DeleteFunc(todo, func(p pending) bool { return p.job != "" })
		}
		if settled > 0 || err == nil {
			served = ts.name
			if got.Strategy != "" && !slices.Contains(strategies, got.Strategy) {
				strategies = append(strategies, got.Strategy)
			}
		}
		todo = slices.DeleteFunc(todo, func(p pending) bool { return res.Outcomes[p.idx].Status != "" })
		c.reportSettled(len(req.Updates)-len(todo)-len(parked), len(req.Updates), len(parked), ts.name)
		switch {
		case st == stepStop:
			if called {
				for k := range todo {
					todo[k].unknown = todo[k].unknown || tiers.Classify(err) == tiers.ClassCanceled
				}
			}
			return finish(err)
		case st == stepServed && err != nil: // a verdict on the whole request
			return finish(err)
		case st == stepServed && len(todo) > 0:
			// The tier said it was done but left records unsettled.
			c.overrule(ts, &tiers.Error{Tier: ts.name, Class: tiers.ClassOutcomeUnknown,
				Message: fmt.Sprintf("%d records were left without an outcome", len(todo))})
		}
	}
	c.servedBy(served)
	if len(todo) > 0 {
		return finish(c.exhausted(nil))
	}
	if len(parked) > 0 {
		job := parked[0].job
		return finish(&tiers.Error{Tier: jobTier, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN",
			PendingJob: job,
			Message: fmt.Sprintf("%d of %d records are pending on %s job %s, which had not finished when the call ended; Zoho runs it whether or not anyone waits, "+
				"so they were not sent again: check the job, or read them back once it has finished, before sending them again", len(parked), len(req.Updates), jobTier, job)})
	}
	return finish(nil)
}

// awaitJob waits for job, which chain[i] left the records of todo marked
// with it pending on, and records the outcomes it gets in final; it returns
// the tier's result and how many records it settled. The wait is bounded by
// the call's deadline, not the tier's timeout: the job runs at Zoho's pace,
// and waiting for it is the only way to settle its records without writing
// them twice. It is recorded as an attempt on the tier, outside its breaker
// (which already counted the failure that left the job pending). Records it
// leaves unknown stay marked unless the tier no longer names the job (Zoho
// reported it finished): they may then be read back like any unknown.
func (c *call) awaitJob(i int, aw tiers.JobAwaiter, job string, req tiers.BulkUpdateRequest, todo []pending, final []tiers.Outcome) (tiers.BulkUpdateResult, int) {
	ts := c.chain[i]
	var on []int // positions in todo of the job's records
	sub := tiers.BulkUpdateRequest{Module: req.Module, Trigger: req.Trigger}
	for k, p := range todo {
		if p.job == job {
			on = append(on, k)
			u := req.Updates[p.idx]
			sub.Updates = append(sub.Updates, tiers.UpdateRequest{Module: u.Module, ID: u.ID, Data: p.data, Trigger: u.Trigger})
		}
	}
	r := c.r
	if len(on) == 0 || c.parent.Err() != nil || c.deadline.Sub(r.now()) < r.floor {
		return tiers.BulkUpdateResult{}, 0
	}
	ctx, cancel := context.WithDeadline(tiers.WithRetryBudget(c.base, tiers.QuickRetry), c.deadline)
	defer cancel()
	ctx = offsetProgress(ctx, len(req.Updates)-len(todo), len(req.Updates))
	t0 := r.now()
	got, err := aw.AwaitBulkUpdateJob(ctx, job, sub)
	if err != nil && c.parent.Err() != nil {
		err = c.parent.Err()
	}
	c.record(ts, tiers.OpBulkUpdate, err, r.now().Sub(t0))
	sel := make([]pending, len(on))
	for j, k := range on {
		sel[j] = todo[k]
	}
	n := merge(req, sel, got.Outcomes, final)
	still := tiers.PendingJobOf(err) == job
	for j, k := range on {
		todo[k].unknown = sel[j].unknown
		if !still {
			todo[k].job, todo[k].unknown = "", true
		}
	}
	return got, n
}

// offsetProgress returns ctx whose progress reports, about a part of a
// bulk update that starts after done settled records, are passed on as
// reports about the whole call of total records.
func offsetProgress(ctx context.Context, done, total int) context.Context {
	return tiers.WithProgress(ctx, func(p tiers.Progress) {
		p.Done, p.Total = min(done+p.Done, total), total
		tiers.ReportProgress(ctx, p)
	})
}

// reportSettled reports how many records of a bulk update are settled after
// an attempt on tier.
func (c *call) reportSettled(done, total, parked int, tier tiers.Name) {
	msg := fmt.Sprintf("%d of %d records settled (%s)", done, total, tier)
	if parked > 0 {
		msg += fmt.Sprintf("; %d pending on a bulk job", parked)
	}
	tiers.ReportProgress(c.base, tiers.Progress{Done: done, Total: total, Message: msg})
}

// AwaitBulkJob waits for job, which the tier named tier left the records of
// req pending on (tiers.Error.PendingJob of an earlier BulkUpdate), within
// the call deadline (not the bulk one: a caller asking about a job wants an
// answer soon), and returns their outcomes like BulkUpdate: one per record,
// in order, StatusUnknown for those the job has not settled yet, in which
// case the error names the job again. Nothing is sent to Zoho but the
// job's status polls and its result download; the wait is an attempt on
// the tier outside its breaker, as in BulkUpdate. A tier that cannot wait
// for jobs is an error of ClassUnsupported.
func (r *Router) AwaitBulkJob(ctx context.Context, rc RoutingContext, tier tiers.Name, job string, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, tiers.Route, error) {
	var c call
	r.start(&c, ctx, rc, tiers.OpList) // the call deadline
	ts := r.tier(tier)
	var aw tiers.JobAwaiter
	if ts != nil && ts.impl != nil {
		aw, _ = ts.impl.(tiers.JobAwaiter)
	}
	if aw == nil {
		return tiers.BulkUpdateResult{}, c.finish(), &tiers.Error{Tier: tier, Class: tiers.ClassUnsupported,
			Message: fmt.Sprintf("tier %s cannot wait for bulk jobs", tier)}
	}
	actx, cancel := context.WithDeadline(tiers.WithRetryBudget(c.base, tiers.QuickRetry), c.deadline)
	defer cancel()
	t0 := r.now()
	got, err := aw.AwaitBulkUpdateJob(offsetProgress(actx, 0, len(req.Updates)), job, req)
	if err != nil && c.parent.Err() != nil {
		err = c.parent.Err()
	}
	if err == nil || tiers.PendingJobOf(err) != "" {
		// Still pending is an answer too: the job is running.
		c.record(ts, tiers.OpBulkUpdate, nil, r.now().Sub(t0))
		c.servedBy(ts.name)
	} else {
		c.record(ts, tiers.OpBulkUpdate, err, r.now().Sub(t0))
	}
	return got, c.finish(), err
}

// merge records a tier's outcomes for the records it was sent (todo, in the
// same order) and returns how many it settled. Records it did not settle
// stay in todo: not sent as they are, unknown to be read back. A tier that
// returned fewer outcomes than records sent leaves the rest unknown.
func merge(req tiers.BulkUpdateRequest, todo []pending, got []tiers.Outcome, final []tiers.Outcome) int {
	byPos := len(got) == len(todo)
	used := make([]bool, len(got))
	settled := 0
	for k := range todo {
		p := &todo[k]
		id := req.Updates[p.idx].ID
		var o tiers.Outcome
		found := false
		if byPos && (got[k].ID == id || got[k].ID == "") {
			o, found = got[k], true
		} else {
			for j, g := range got {
				if !used[j] && g.ID == id {
					o, found, used[j] = g, true, true
					break
				}
			}
		}
		switch {
		case !found:
			p.unknown = true
		case o.Status == tiers.StatusSuccess || o.Status == tiers.StatusError:
			if o.ID == "" {
				o.ID = id
			}
			final[p.idx] = o
			settled++
		case o.Status == tiers.StatusNotSent:
			// unchanged: sent as it is to the next tier
		default: // StatusUnknown or anything a tier should not have said
			p.unknown = true
		}
	}
	return settled
}

// readBack reads the records of todo whose outcome is unknown through
// chain[i] and settles those already applied (in final); the others keep
// only their unapplied fields and lose the unknown mark. It returns like
// attempt; stepServed with a nil error when there was nothing to read or all
// reads succeeded.
func (c *call) readBack(i int, req tiers.BulkUpdateRequest, todo []pending, final []tiers.Outcome) (step, error) {
	var idx []int // positions in todo of unknown records
	for k, p := range todo {
		if p.unknown {
			idx = append(idx, k)
		}
	}
	for len(idx) > 0 {
		chunk := idx[:min(len(idx), maxReadBack)]
		idx = idx[len(chunk):]
		ids := make([]string, len(chunk))
		fieldSet := map[string]bool{}
		for j, k := range chunk {
			ids[j] = req.Updates[todo[k].idx].ID
			for f := range todo[k].data {
				fieldSet[f] = true
			}
		}
		fields := make([]string, 0, len(fieldSet)+1)
		for f := range fieldSet {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		var page tiers.Page
		st, err := c.attempt(i, tiers.OpList, func(ctx context.Context, t tiers.Tier) (err error) {
			page, err = t.List(ctx, tiers.ListRequest{Module: req.Module, IDs: ids, Fields: fields, Limit: len(ids)})
			return err
		})
		if st != stepServed || err != nil {
			return st, err
		}
		c.reconciled()
		byID := make(map[string]tiers.Record, len(page.Records))
		for _, rec := range page.Records {
			if id, ok := tiers.IDString(rec["id"]); ok {
				byID[id] = rec
			}
		}
		for _, k := range chunk {
			p := &todo[k]
			id := req.Updates[p.idx].ID
			rec, ok := byID[id]
			p.unknown = false
			if !ok {
				// Not readable: the update cannot have been applied to it;
				// send it as it is and let Zoho answer for the record.
				continue
			}
			p.data = unapplied(p.data, rec)
			if len(p.data) == 0 {
				final[p.idx] = tiers.Outcome{ID: id, Status: tiers.StatusSuccess,
					Message: "reconciled: the update had already been applied"}
			}
		}
	}
	return stepServed, nil
}

func codeOf(err error) string {
	if te, ok := err.(*tiers.Error); ok {
		return te.Code
	}
	return ""
}

func sortedKeys(m tiers.Record) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// unapplied returns the fields of want whose values rec does not hold yet
// (a new map; want is not changed).
func unapplied(want, rec tiers.Record) tiers.Record {
	out := tiers.Record{}
	for k, v := range want {
		if !sameValue(v, rec[k]) {
			out[k] = v
		}
	}
	return out
}

// sameValue reports whether a value read back from Zoho (got) is the value
// that was written (want). Numbers compare by value whatever their Go type
// (json.Number, float64, int, or a numeral string against a number); a
// lookup compares by id; a missing value equals null and ""; lists compare
// as multisets (multi-select picklists).
func sameValue(want, got any) bool {
	if isEmpty(want) || isEmpty(got) {
		return isEmpty(want) && isEmpty(got)
	}
	switch w := want.(type) {
	case map[string]any:
		if wid, ok := w["id"]; ok {
			gid, ok := idOf(got)
			wids, ok2 := tiers.IDString(wid)
			return ok && ok2 && gid == wids
		}
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !sameValue(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		used := make([]bool, len(g))
	outer:
		for _, wv := range w {
			for j, gv := range g {
				if !used[j] && sameValue(wv, gv) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case string:
		if g, ok := got.(string); ok {
			return g == w
		}
	}
	if wn, ok := number(want); ok {
		if gn, ok := number(got); ok {
			return wn.Cmp(gn) == 0
		}
	}
	if wid, ok := tiers.IDString(want); ok { // a lookup written as a bare id
		if gid, ok := idOf(got); ok {
			return wid == gid
		}
	}
	return reflect.DeepEqual(want, got)
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	}
	return false
}

// number returns v as an exact rational when it is a number or a numeral.
func number(v any) (*big.Rat, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(v) == nil {
			return nil, false
		}
		// Compare at the precision the float was written with.
		s = strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(v), 'g', -1, 32)
	case int:
		return new(big.Rat).SetInt64(int64(v)), true
	case int64:
		return new(big.Rat).SetInt64(v), true
	case int32:
		return new(big.Rat).SetInt64(int64(v)), true
	case uint64:
		return new(big.Rat).SetFrac(new(big.Int).SetUint64(v), big.NewInt(1)), true
	default:
		return nil, false
	}
	if s == "" || strings.ContainsAny(s, "/xXpP_") { // big.Rat accepts fractions, hex, underscores
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// idOf returns the id of a lookup value: {"id": …, "name": …} or a bare id.
func idOf(v any) (string, bool) {
	if m, ok := v.(map[string]any); ok {
		return tiers.IDString(m["id"])
	}
	return tiers.IDString(v)
}
