package config

import (
	"strings"
	"testing"
	"time"
)

// TestBulkSettings: the bulk deadline and the bulk-result byte cap (SPEC §11)
// default to 10 minutes and 256 MiB and come from the flag, the
// environment and the file in that order; bad values are reported with the
// others.
func TestBulkSettings(t *testing.T) {
	t.Parallel()
	d := Default()
	if d.BulkTimeout != 10*time.Minute || d.BulkResultMaxBytes != 256<<20 {
		t.Fatalf("defaults: bulk_timeout %v, bulk_result_max_bytes %d", d.BulkTimeout, d.BulkResultMaxBytes)
	}
	file := writeFile(t, "bulk_timeout: 20m\nbulk_result_max_bytes: 1048576\n")
	c, err := Load(Flags{Config: &file}, envOf(nil))
	if err != nil || c.BulkTimeout != 20*time.Minute || c.BulkResultMaxBytes != 1<<20 {
		t.Fatalf("file: %v %v %d", err, c.BulkTimeout, c.BulkResultMaxBytes)
	}
	c, _ = Load(Flags{Config: &file}, envOf(map[string]string{EnvBulkTimeout: "900", EnvBulkResultMaxBytes: "2097152"}))
	if c.BulkTimeout != 15*time.Minute || c.BulkResultMaxBytes != 2<<20 {
		t.Errorf("env over file: %v %d", c.BulkTimeout, c.BulkResultMaxBytes)
	}
	c, _ = Load(Flags{Config: &file, BulkTimeout: ptr(5 * time.Minute)}, envOf(map[string]string{EnvBulkTimeout: "900"}))
	if c.BulkTimeout != 5*time.Minute {
		t.Errorf("flag over env: %v", c.BulkTimeout)
	}
	c, _ = Load(Flags{}, envOf(map[string]string{EnvBulkTimeout: "soon", EnvBulkResultMaxBytes: "-1"}))
	c.UseSandbox(nil)
	msg := ""
	if err := c.Validate(); err != nil {
		msg = err.Error()
	}
	for _, w := range []string{EnvBulkTimeout + `="soon"`, EnvBulkResultMaxBytes + `="-1"`} {
		if !strings.Contains(msg, w) {
			t.Errorf("problems lack %q: %s", w, msg)
		}
	}
	c = Default()
	c.UseSandbox(nil)
	c.BulkTimeout, c.BulkResultMaxBytes = 10*time.Second, 1000
	msg = ""
	if err := c.Validate(); err != nil {
		msg = err.Error()
	}
	for _, w := range []string{"bulk_timeout=10s is shorter than call_timeout=30s", "bulk_result_max_bytes=1000 is too small"} {
		if !strings.Contains(msg, w) {
			t.Errorf("problems lack %q: %s", w, msg)
		}
	}
}
