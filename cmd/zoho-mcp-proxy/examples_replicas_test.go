package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
)

// TestExampleReplicas: examples/replicas is three replicas on one Redis
// behind nginx. Every replica runs the image with a command line the CLI
// accepts, variables the proxy reads, Redis on (the URL naming the redis
// service, a key file from a declared secret) and the permissions file
// mounted, and publishes nothing itself; nginx publishes one loopback port,
// balances /mcp over every replica and routes legacy SSE (/sse, /message)
// stickily, and its config file is the one in the folder.
func TestExampleReplicas(t *testing.T) {
	t.Parallel()
	type service struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Secrets     []string          `yaml:"secrets"`
		ReadOnly    bool              `yaml:"read_only"`
		Tmpfs       []string          `yaml:"tmpfs"`
		CapDrop     []string          `yaml:"cap_drop"`
		SecurityOpt []string          `yaml:"security_opt"`
		DependsOn   []string          `yaml:"depends_on"`
		Restart     string            `yaml:"restart"`
	}
	var f struct {
		Proxy    service            `yaml:"x-proxy"`
		Services map[string]service `yaml:"services"`
		Secrets  map[string]struct {
			File string `yaml:"file"`
		} `yaml:"secrets"`
	}
	dir := filepath.Join(repoRoot, "examples", "replicas")
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, "examples/replicas/compose.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("replicas/compose.yaml: %v (a key this test does not know: teach it)", err)
	}
	if _, ok := f.Services["redis"]; !ok {
		t.Fatal("no redis service")
	}
	defaultCmd, cache := imageDefaults(t)
	var proxies []string
	for name, s := range f.Services {
		if s.Image != exampleImage {
			continue
		}
		proxies = append(proxies, name)
		where := "replicas/compose.yaml " + name
		args := s.Command
		if args == nil {
			args = defaultCmd
		}
		checkCLI(t, where, args)
		var names []string
		for k := range s.Environment {
			names = append(names, k)
		}
		checkEnvNames(t, where, names)
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes %v: only the load balancer should", where, s.Ports)
		}
		if u := s.Environment[config.EnvRedisURL]; !strings.HasPrefix(u, "redis://redis:") {
			t.Errorf("%s: %s = %q, want the redis service", where, config.EnvRedisURL, u)
		}
		key := s.Environment[config.EnvRedisKeyFile]
		secret := strings.TrimPrefix(key, "/run/secrets/")
		if _, declared := f.Secrets[secret]; !declared || !slices.Contains(s.Secrets, secret) || key == secret {
			t.Errorf("%s: %s = %q, want /run/secrets/<a secret the service uses>", where, config.EnvRedisKeyFile, key)
		}
		perms := s.Environment[config.EnvPermissions]
		if !slices.ContainsFunc(s.Volumes, func(v string) bool {
			src, target, _ := strings.Cut(v, ":")
			_, err := os.Stat(filepath.Join(dir, src))
			return strings.HasPrefix(target, perms) && strings.HasSuffix(src, "permissions.yaml") && err == nil
		}) {
			t.Errorf("%s: %s=%q is not a mounted permissions.yaml", where, config.EnvPermissions, perms)
		}
		if s.ReadOnly && (!slices.Contains(s.Tmpfs, "/tmp") || !slices.Contains(s.Tmpfs, cache)) {
			t.Errorf("%s: read_only without tmpfs on /tmp and %s (tmpfs %v)", where, cache, s.Tmpfs)
		}
	}
	if len(proxies) != 3 {
		t.Fatalf("%d replicas (%v), want 3", len(proxies), proxies)
	}
	lb, ok := f.Services["lb"]
	if !ok || len(lb.Ports) != 1 || !strings.HasPrefix(lb.Ports[0], "127.0.0.1:") {
		t.Fatalf("lb: %+v, want one port published on loopback", lb)
	}
	if !slices.Contains(lb.Volumes, "./nginx.conf:/etc/nginx/nginx.conf:ro") {
		t.Fatalf("lb does not mount ./nginx.conf: %v", lb.Volumes)
	}
	conf := readRepoFile(t, "examples/replicas/nginx.conf")
	upstreams := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)upstream (\w+) \{(.*?)\}`).FindAllStringSubmatch(conf, -1) {
		upstreams[m[1]] = m[2]
	}
	listen := regexp.MustCompile(`listen (\d+);`).FindStringSubmatch(conf)
	if listen == nil || !strings.HasSuffix(lb.Ports[0], ":"+listen[1]) {
		t.Errorf("lb publishes %s, nginx listens on %v", lb.Ports[0], listen)
	}
	routes := map[string]string{} // location → upstream
	for _, m := range regexp.MustCompile(`(?s)location (?:= )?(\S+) \{[^}]*proxy_pass http://(\w+);`).FindAllStringSubmatch(conf, -1) {
		routes[m[1]] = m[2]
	}
	for _, path := range []string{"/", "/sse", "/message"} {
		up, ok := upstreams[routes[path]]
		if !ok {
			t.Errorf("nginx.conf: %s goes to no upstream", path)
			continue
		}
		for _, p := range proxies {
			if !strings.Contains(up, "server "+p+":8765;") {
				t.Errorf("nginx.conf: upstream %s of %s lacks %s", routes[path], path, p)
			}
		}
		if sticky := strings.Contains(up, "ip_hash;"); sticky != (path != "/") {
			t.Errorf("nginx.conf: %s sticky=%v; legacy SSE needs sticky routing, Streamable HTTP none", path, sticky)
		}
	}
	if !strings.Contains(conf, "proxy_buffering off;") {
		t.Error("nginx.conf buffers answers: progress notifications and SSE would stall")
	}
}
