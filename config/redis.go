package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
)

// Environment variables of the shared state of several replicas (Redis).
const (
	EnvRedisURL     = "ZOHO_MCP_PROXY_REDIS_URL"      // redis://[user:password@]host:port[/db]; unset = no Redis
	EnvRedisKey     = "ZOHO_MCP_PROXY_REDIS_KEY"      // base64 of 32 bytes: encrypts tokens in Redis
	EnvRedisKeyFile = "ZOHO_MCP_PROXY_REDIS_KEY_FILE" // a file holding that key instead
	EnvRedisPrefix  = "ZOHO_MCP_PROXY_REDIS_PREFIX"   // key prefix, default cluster.DefaultPrefix
)

// Redis configures the state replicas share. Nothing is shared unless URL
// is set. In the config file:
//
//	redis: { url: redis://redis:6379/0, key_file: /run/secrets/redis-key, prefix: "crm-prod:" }
type Redis struct {
	// URL locates Redis; it may hold a password, so it is a Secret.
	URL Secret `yaml:"url"`
	// Key is the base64 key that encrypts tokens at rest; only from the
	// environment (ZOHO_MCP_PROXY_REDIS_KEY), never from the file.
	Key Secret `yaml:"-"`
	// KeyFile names a file holding the key (mode 0600 advised).
	KeyFile string `yaml:"key_file"`
	// Prefix starts every key; "" means cluster.DefaultPrefix.
	Prefix string `yaml:"prefix"`
}

// Enabled reports whether replicas share state through Redis.
func (r Redis) Enabled() bool { return r.URL.IsSet() }

// ResolveKey returns the encryption key from Key or KeyFile.
func (r Redis) ResolveKey() ([]byte, error) {
	switch {
	case r.Key.IsSet() && r.KeyFile != "":
		return nil, fmt.Errorf("both %s and %s are set: keep one", EnvRedisKey, EnvRedisKeyFile)
	case r.Key.IsSet():
		return cluster.ParseKey(r.Key.Reveal())
	case r.KeyFile != "":
		b, err := os.ReadFile(r.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the Redis key file (%s / redis.key_file): %w", EnvRedisKeyFile, errors.Unwrap(err))
		}
		k, err := cluster.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("the Redis key file %s: %w", r.KeyFile, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("Redis is configured but no encryption key is: set %s (openssl rand -base64 32) or %s", EnvRedisKey, EnvRedisKeyFile)
}

// applyRedisEnv overlays the Redis variables.
func (c *Config) applyRedisEnv(env Getenv) {
	if v := env(EnvRedisURL); v != "" {
		c.Redis.URL = Secret(v)
	}
	if v := env(EnvRedisKey); v != "" {
		c.Redis.Key = Secret(v)
	}
	if v := env(EnvRedisKeyFile); v != "" {
		c.Redis.KeyFile = v
	}
	if v := env(EnvRedisPrefix); v != "" {
		c.Redis.Prefix = v
	}
}

// problems lists what is wrong with the Redis settings; none when Redis is
// not configured (then a key or prefix alone is ignored).
func (r Redis) problems() []string {
	if !r.Enabled() {
		return nil
	}
	var p []string
	u, err := url.Parse(r.URL.Reveal())
	switch {
	case err != nil:
		p = append(p, fmt.Sprintf("%s is not a URL: write redis://[user:password@]host:port[/db]", EnvRedisURL))
	case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
		p = append(p, fmt.Sprintf("%s has scheme %q: use redis://, rediss:// (TLS) or unix://", EnvRedisURL, u.Scheme))
	case u.Scheme != "unix" && u.Host == "":
		p = append(p, fmt.Sprintf("%s names no host: write redis://host:6379/0", EnvRedisURL))
	}
	if _, err := r.ResolveKey(); err != nil {
		p = append(p, err.Error())
	}
	if strings.ContainsAny(r.Prefix, " \t\r\n") {
		p = append(p, fmt.Sprintf("%s %q contains white space", EnvRedisPrefix, r.Prefix))
	}
	return p
}
