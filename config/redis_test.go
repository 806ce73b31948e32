package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodRedisKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func TestRedisSettings(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(goodRedisKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		enabled bool
		problem string // "" = valid
	}{
		{name: "default: no Redis", env: nil},
		{name: "key alone is ignored", env: map[string]string{EnvRedisKey: "junk"}},
		{name: "url and key", env: map[string]string{EnvRedisURL: "redis://:pw@redis:6379/0", EnvRedisKey: goodRedisKey}, enabled: true},
		{name: "url and key file", env: map[string]string{EnvRedisURL: "rediss://redis:6380", EnvRedisKeyFile: keyFile}, enabled: true},
		{name: "from the config file", file: "redis: { url: redis://redis:6379/0, key_file: " + keyFile + ", prefix: \"prod:\" }", enabled: true},
		{name: "url without key", env: map[string]string{EnvRedisURL: "redis://redis:6379"}, enabled: true, problem: "no encryption key"},
		{name: "both keys", env: map[string]string{EnvRedisURL: "redis://redis:6379", EnvRedisKey: goodRedisKey, EnvRedisKeyFile: keyFile}, enabled: true, problem: "keep one"},
		{name: "short key", env: map[string]string{EnvRedisURL: "redis://redis:6379", EnvRedisKey: "c2hvcnQ="}, enabled: true, problem: "decodes to 5 bytes"},
		{name: "missing key file", env: map[string]string{EnvRedisURL: "redis://redis:6379", EnvRedisKeyFile: "/nonexistent/key"}, enabled: true, problem: "cannot read the Redis key file"},
		{name: "wrong scheme", env: map[string]string{EnvRedisURL: "http://redis:6379", EnvRedisKey: goodRedisKey}, enabled: true, problem: "use redis://"},
		{name: "no host", env: map[string]string{EnvRedisURL: "redis:///0", EnvRedisKey: goodRedisKey}, enabled: true, problem: "names no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A configured tier, so that only the Redis settings are judged.
			env := map[string]string{EnvClientID: "1000.ID", EnvClientSecret: "s", EnvRefreshToken: "1000.r"}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				env[EnvConfig] = writeFile(t, tt.file)
			}
			c, err := Load(Flags{}, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Redis.Enabled() != tt.enabled {
				t.Fatalf("Enabled = %v", c.Redis.Enabled())
			}
			err = c.Validate()
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if tt.enabled {
					if k, err := c.Redis.ResolveKey(); err != nil || len(k) != 32 {
						t.Fatalf("ResolveKey = %d bytes, %v", len(k), err)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("Validate = %v, want %q", err, tt.problem)
			}
			for _, secret := range []string{"pw@", goodRedisKey, "c2hvcnQ="} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("a secret reached the message: %v", err)
				}
			}
		})
	}
}

func TestRedisURLIsRedacted(t *testing.T) {
	t.Parallel()
	c, err := Load(Flags{}, envOf(map[string]string{EnvRedisURL: "redis://:hunter2@redis:6379/0", EnvRedisKey: goodRedisKey}))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || strings.Contains(s, goodRedisKey) {
		t.Fatalf("String shows a Redis secret: %s", s)
	}
}
