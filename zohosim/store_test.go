package zohosim

import (
	"testing"
	"time"
)

// TestStoreUpdateStampsModifiedTime checks that an update moves
// Modified_Time for seeded records and for records inserted later alike.
func TestStoreUpdateStampsModifiedTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := NewStore(3, 1, func() time.Time { return now })
	inserted := st.insertBulk(map[string]any{"Account_Name": "Inserted Ltd"}, now.Add(-48*time.Hour))
	for _, id := range []string{"5725767000001000001", inserted} {
		if _, ok := st.Update(id, map[string]any{"Phone": "+1 555 0100"}); !ok {
			t.Fatalf("update %s: no such record", id)
		}
		r, _ := st.Get(id)
		if r["Phone"] != "+1 555 0100" || r["Modified_Time"] != formatTime(now) {
			t.Errorf("%s after update: Phone %v, Modified_Time %v, want %v", id, r["Phone"], r["Modified_Time"], formatTime(now))
		}
	}
}
