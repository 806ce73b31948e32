package faults

import (
	"regexp"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestCallDeadlineWhenEverythingHangs: every API surface hangs and the
// call's deadline (1.5 tier timeouts) is shorter than the chain of attempts
// would take. Each tool family must answer inside the deadline with an
// honest error, writes with outcomes that match the store.
func TestCallDeadlineWhenEverythingHangs(t *testing.T) {
	t.Parallel()
	tt := tierTimeout()
	h := start(t, opts{CallTimeout: tt + tt/2})
	h.warmUp()
	for _, sf := range []zohosim.Surface{zohosim.SurfaceMCP, zohosim.SurfaceBulk, zohosim.SurfaceREST} {
		h.sim.SetFault(sf, zohosim.Fault{Mode: zohosim.FaultHang})
	}
	timeoutRE := regexp.MustCompile(`(?i)timed out|deadline|ran out of time|no answer|not tried`)
	for _, fam := range families() {
		t.Run(fam.tool, func(t *testing.T) {
			t.Parallel() // disjoint records; the breakers never open (threshold 1000)
			c := &mcase{name: "deadline/" + fam.tool, fam: fam, h: h}
			c.ids = h.ids(0, bulkReadN+bulkWriteN)
			c.value = "deadline " + fam.tool
			r := h.call(profOps, fam.tool, fam.args(c))
			if r.err != nil {
				t.Fatalf("JSON-RPC error: %v", r.err)
			}
			if lim := h.o.CallTimeout + tt/2; r.dur > lim {
				t.Errorf("took %v; the call's deadline is %v", r.dur, h.o.CallTimeout)
			}
			if !r.isErr {
				t.Fatalf("served with every surface hung: %s", r.dump)
			}
			if !timeoutRE.MatchString(r.text) {
				t.Errorf("the error does not say it ran out of time: %q", r.text)
			}
			if fam.write {
				fam.check(t, c, r)
			}
		})
	}
}
