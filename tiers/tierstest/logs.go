package tierstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
)

// Buffer is a bytes buffer safe for concurrent use: a log sink a test reads
// back while the code under test still writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// LogKeys returns the top-level keys of one JSON log line in order, a key
// written twice appearing twice, with their values; an error when the line
// is not one JSON object.
func LogKeys(line string) (keys []string, values []json.RawMessage, err error) {
	d := json.NewDecoder(strings.NewReader(line))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, values = append(keys, k.(string)), append(values, v)
	}
	return keys, values, nil
}
