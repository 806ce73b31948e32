package status

import (
	"testing"
	"time"
)

func TestDurText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{250 * time.Millisecond, "250 ms"},
		{time.Second, "1 s"},
		{1500 * time.Millisecond, "1.5 s"},
		{10 * time.Second, "10 s"},
		{90 * time.Second, "1.5 min"},
		{30 * time.Minute, "30 min"},
		{2 * time.Hour, "2 h"},
	} {
		if got := durText(tc.d); got != tc.want {
			t.Errorf("durText(%v) = %q; want %q", tc.d, got, tc.want)
		}
	}
}
