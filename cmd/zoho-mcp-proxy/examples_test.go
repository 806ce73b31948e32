package main

// Every file under examples/ is loaded here the way its reader would use it:
// the config and permissions files by the proxy's own loaders, client configs
// parsed, and every command line in them checked against the CLI's command
// table and flags, so that none of them can drift from the product.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// exampleImage is the image `make docker` builds and the examples run.
const exampleImage = "zoho-mcp-proxy"

// yamlLeaves returns the dotted path of every scalar or sequence in a YAML
// document, with the key node that names it.
func yamlLeaves(t *testing.T, b []byte) map[string]*yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	leaves := map[string]*yaml.Node{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(prefix+"."+k.Value, ".")
			if v.Kind == yaml.MappingNode {
				walk(p, v)
				continue
			}
			leaves[p] = k
			// Keep the value's line comment with the key.
			if k.LineComment == "" {
				k.LineComment = v.LineComment
			}
		}
	}
	if len(doc.Content) == 1 {
		walk("", doc.Content[0])
	}
	return leaves
}

func TestExampleConfigHasEverySettingAtItsDefault(t *testing.T) {
	t.Parallel()
	file := filepath.Join(repoRoot, "examples", "config.yaml")
	cfg, err := config.Load(config.Flags{Config: &file}, nil)
	if err != nil {
		t.Fatalf("the proxy's loader refuses the example: %v", err)
	}
	// Unknown keys and wrong types are recorded as problems naming the file.
	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.Contains(line, file) {
				t.Errorf("example config: %s", strings.TrimSpace(line))
			}
		}
	}
	// Every setting of the file format is in the example, and nothing else.
	want, err := yaml.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	got, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defaults, written := yamlLeaves(t, want), yamlLeaves(t, src)
	for p := range defaults {
		if _, ok := written[p]; !ok {
			t.Errorf("setting %s is missing from examples/config.yaml: add it with its default and what it means", p)
		}
	}
	for p, k := range written {
		if _, ok := defaults[p]; !ok {
			t.Errorf("examples/config.yaml line %d: %s is not a setting", k.Line, p)
		}
		if k.LineComment == "" && k.HeadComment == "" {
			t.Errorf("examples/config.yaml line %d: %s has no comment saying what it means", k.Line, p)
		}
	}
	// Every value is the default (as loaded, so 60s and 1m0s are equal).
	for p := range defaults {
		if _, ok := written[p]; !ok {
			continue
		}
		if dv, lv := nodeValue(t, p, want), nodeValue(t, p, got); dv != lv {
			t.Errorf("examples/config.yaml line %d: %s is %s, but its default is %s", written[p].Line, p, lv, dv)
		}
	}
}

// nodeValue renders the value at the dotted path p of a YAML document.
func nodeValue(t *testing.T, p string, doc []byte) string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	var v any = m
	for _, k := range strings.Split(p, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return "<none>"
		}
		v = mm[k]
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestExamplePermissions(t *testing.T) {
	t.Parallel()
	file := filepath.Join(repoRoot, "examples", "permissions.yaml")
	p, err := permissions.Load(file)
	if err != nil {
		t.Fatalf("the proxy's loader refuses the example: %v", err)
	}
	want := map[string][]string{
		"reader": {"read", "monitor"},
		"sales":  {"read", "write"},
		"ops":    {"read", "write", "bulk", "monitor", "admin"},
	}
	for name, scopes := range want {
		pr, ok := p.Profile(name)
		if !ok {
			t.Errorf("profile %s is missing", name)
			continue
		}
		if got := pr.ScopeNames(); !slices.Equal(got, scopes) {
			t.Errorf("profile %s scopes = %v, want %v", name, got, scopes)
		}
	}
	if sales, _ := p.Profile("sales"); !sales.Denied("Annual_Revenue") {
		t.Error("profile sales does not deny Annual_Revenue: the example must show a field deny list")
	}
	if p.DefaultProfile().Name != "reader" || !p.HasTokens() {
		t.Errorf("default profile %q, tokens %t: want reader and tokens", p.DefaultProfile().Name, p.HasTokens())
	}
	src := readRepoFile(t, "examples/permissions.yaml")
	for _, w := range []string{`printf %s "$TOKEN" | sha256sum`, "openssl rand -hex 32", "placeholders"} {
		if !strings.Contains(src, w) {
			t.Errorf("examples/permissions.yaml does not say %q (how to make a token and its hash)", w)
		}
	}
	// The placeholders are nobody's token: not the hash of an empty,
	// obvious or documented string.
	for _, guess := range []string{"", "token", "TOKEN", "$TOKEN", "changeme", "change-me", "reader", "sales", "ops", "secret", "test"} {
		if _, ok := p.ProfileForToken(guess); ok && guess != "" {
			t.Errorf("the example's tokens accept %q", guess)
		}
	}
}

// --- command lines -------------------------------------------------------------

// checkCLI fails when args are not a command line the CLI accepts.
func checkCLI(t *testing.T, where string, args []string) {
	t.Helper()
	if ok, why := cliAccepts(t, args); !ok {
		t.Errorf("%s: %q is not a command line the CLI accepts: %s", where, args, strings.TrimSpace(why))
	}
}

// checkEnvNames fails for a variable the proxy does not read.
func checkEnvNames(t *testing.T, where string, names []string) {
	t.Helper()
	known := configEnvNames(t)
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not a variable the proxy reads", where, n)
		}
	}
}

// isProxyBinary reports whether a command names the proxy's binary.
func isProxyBinary(cmd string) bool {
	b := path.Base(filepath.ToSlash(cmd))
	return b == "zoho-mcp-proxy" || b == "zoho-mcp-proxy.exe"
}

// container is one way the examples run the image: docker run or a compose
// service.
type container struct {
	where       string
	image       string
	args        []string          // the command; nil = the image's CMD
	env         map[string]string // "" = passed through from the caller's environment
	publish     []string          // [ip:]host:container
	volumes     []string          // source:target[:mode]
	interactive bool
	baseDir     string // what relative volume sources are relative to
	named       func(string) bool
}

// imageDefaults reads the final stage of the Dockerfile.
func imageDefaults(t *testing.T) (cmd []string, cache string) {
	t.Helper()
	stages := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	final := stages[len(stages)-1]
	c, _ := final.last("CMD")
	env, _ := final.last("ENV")
	_, cache, _ = strings.Cut(env.args, "XDG_CACHE_HOME=")
	return c.exec, cache
}

func checkContainer(t *testing.T, c container) {
	t.Helper()
	if c.image != exampleImage && !strings.HasPrefix(c.image, exampleImage+":") {
		t.Errorf("%s: image %q, want %s (what make docker builds)", c.where, c.image, exampleImage)
	}
	defaultCmd, cache := imageDefaults(t)
	args := c.args
	if args == nil {
		args = defaultCmd
	}
	checkCLI(t, c.where, args)
	var names []string
	for k := range c.env {
		names = append(names, k)
	}
	checkEnvNames(t, c.where, names)

	mounts := map[string]string{} // target → source
	for _, v := range c.volumes {
		f := strings.Split(v, ":")
		if len(f) < 2 {
			t.Errorf("%s: volume %q is not source:target", c.where, v)
			continue
		}
		src, target := f[0], f[1]
		mounts[target] = src
		switch {
		case !strings.ContainsAny(src, "/$."): // a named volume
			if c.named != nil && !c.named(src) {
				t.Errorf("%s: named volume %q is not declared", c.where, src)
			}
			if target != cache {
				t.Errorf("%s: named volume on %s; the image caches tokens in %s", c.where, target, cache)
			}
		default:
			local := strings.ReplaceAll(src, "${PWD}", repoRoot)
			if !filepath.IsAbs(local) && !strings.HasPrefix(src, "${PWD}") {
				local = filepath.Join(c.baseDir, local)
			}
			if _, err := os.Stat(local); err != nil {
				t.Errorf("%s: volume source %s: %v", c.where, src, err)
			}
		}
	}

	transport, _ := flagValue(args, "transport")
	if transport != "http" {
		if !c.interactive || len(c.publish) > 0 {
			t.Errorf("%s: stdio needs -i (stdin open) and no published port", c.where)
		}
		return
	}
	addr, _ := flagValue(args, "addr")
	_, port, _ := net.SplitHostPort(addr)
	if len(c.publish) != 1 {
		t.Errorf("%s: publish %v: want one port", c.where, c.publish)
	} else if f := strings.Split(c.publish[0], ":"); len(f) != 3 || f[0] != "127.0.0.1" || f[2] != port {
		t.Errorf("%s: publish %q: want 127.0.0.1:HOST:%s (loopback of the host, the port the server listens on)", c.where, c.publish[0], port)
	}
	// Listening on the container's every interface needs tokens: a
	// permissions file mounted where the variable points.
	perms := c.env[config.EnvPermissions]
	if src, ok := mounts[perms]; perms == "" || !ok {
		t.Errorf("%s: HTTP on %s needs %s pointing at a mounted permissions file", c.where, addr, config.EnvPermissions)
	} else if !strings.HasSuffix(src, "permissions.yaml") {
		t.Errorf("%s: %s is mounted from %s, want the example permissions.yaml", c.where, perms, src)
	}
}

// dockerRun reads the arguments after `docker run`.
func dockerRun(t *testing.T, where string, args []string) container {
	t.Helper()
	c := container{where: where, env: map[string]string{}, baseDir: repoRoot}
	withValue := map[string]bool{"-p": true, "--publish": true, "-e": true, "--env": true, "-v": true, "--volume": true, "--name": true}
	flags := map[string]bool{"-d": true, "--detach": true, "-i": true, "--interactive": true, "--rm": true, "--read-only": true}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		a := args[i]
		switch {
		case flags[a]:
			c.interactive = c.interactive || a == "-i" || a == "--interactive"
		case withValue[a] && i+1 < len(args):
			i++
			v := args[i]
			switch a {
			case "-p", "--publish":
				c.publish = append(c.publish, v)
			case "-e", "--env":
				k, val, _ := strings.Cut(v, "=")
				c.env[k] = val
			case "-v", "--volume":
				c.volumes = append(c.volumes, v)
			}
		default:
			t.Errorf("%s: docker run option %q is not one this test knows; teach it", where, a)
		}
	}
	if i == len(args) {
		t.Errorf("%s: docker run without an image", where)
		return c
	}
	c.image = args[i]
	if rest := args[i+1:]; len(rest) > 0 {
		c.args = rest
	}
	return c
}

func TestExampleClaudeDesktop(t *testing.T) {
	t.Parallel()
	var cfg struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	dec := json.NewDecoder(strings.NewReader(readRepoFile(t, "examples/clients/claude_desktop_config.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.MCPServers) < 3 {
		t.Errorf("%d servers: want the binary, the sandbox and docker", len(cfg.MCPServers))
	}
	for name, s := range cfg.MCPServers {
		where := "claude_desktop_config.json " + name
		var names []string
		for k := range s.Env {
			names = append(names, k)
		}
		checkEnvNames(t, where, names)
		switch {
		case isProxyBinary(s.Command):
			checkCLI(t, where, s.Args)
		case s.Command == "docker" && len(s.Args) > 0 && s.Args[0] == "run":
			c := dockerRun(t, where, s.Args[1:])
			checkContainer(t, c)
			for k, v := range c.env {
				if _, ok := s.Env[k]; v == "" && !ok && k != config.EnvDC {
					t.Errorf("%s: -e %s passes a variable the config's env does not set", where, k)
				}
			}
		default:
			t.Errorf("%s: command %q is neither the proxy nor docker run", where, s.Command)
		}
	}
}

func TestExampleVSCode(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Inputs []struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			Description string `json:"description"`
			Password    bool   `json:"password"`
		} `json:"inputs"`
		Servers map[string]struct {
			Type    string            `json:"type"`
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		} `json:"servers"`
	}
	src := readRepoFile(t, "examples/clients/vscode-mcp.json")
	dec := json.NewDecoder(strings.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]bool{}
	for _, in := range cfg.Inputs {
		if in.Type != "promptString" || !in.Password || in.Description == "" {
			t.Errorf("input %s: want a described promptString with password: true (secrets)", in.ID)
		}
		inputs[in.ID] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{input:([^}]+)\}`).FindAllStringSubmatch(src, -1) {
		used[m[1]] = true
		if !inputs[m[1]] {
			t.Errorf("${input:%s} is not declared in inputs", m[1])
		}
	}
	for id := range inputs {
		if !used[id] {
			t.Errorf("input %s is declared but never used", id)
		}
	}
	types := map[string]bool{}
	for name, s := range cfg.Servers {
		where := "vscode-mcp.json " + name
		types[s.Type] = true
		switch s.Type {
		case "stdio":
			if !isProxyBinary(s.Command) {
				t.Errorf("%s: command %q", where, s.Command)
			}
			checkCLI(t, where, s.Args)
			var names []string
			for k := range s.Env {
				names = append(names, k)
			}
			checkEnvNames(t, where, names)
		case "http":
			checkMCPURL(t, where, s.URL)
			if !strings.HasPrefix(s.Headers["Authorization"], "Bearer ${input:") {
				t.Errorf("%s: Authorization %q: want Bearer ${input:...}", where, s.Headers["Authorization"])
			}
		default:
			t.Errorf("%s: type %q", where, s.Type)
		}
	}
	if !types["stdio"] || !types["http"] {
		t.Errorf("server types %v: want a stdio and an http example", types)
	}
}

// checkMCPURL fails unless u is the Streamable HTTP endpoint on the default
// address.
func checkMCPURL(t *testing.T, where, u string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Host != config.DefaultAddr || p.Path != "/mcp" {
		t.Errorf("%s: URL %q, want http://%s/mcp", where, u, config.DefaultAddr)
	}
}

func TestExampleClaudeCode(t *testing.T) {
	t.Parallel()
	const where = "claude-code.sh"
	adds := 0
	for _, c := range shellCommands(t, where, readRepoFile(t, "examples/clients/claude-code.sh")) {
		if len(c) < 3 || c[0] != "claude" || c[1] != "mcp" || c[2] != "add" {
			t.Errorf("%s: unexpected command %q", where, c)
			continue
		}
		adds++
		var env []string
		var positional []string
		transport, header := "stdio", ""
		i := 3
		for ; i < len(c); i++ {
			switch a := c[i]; a {
			case "--":
				positional = append(positional, c[i+1:]...)
				i = len(c)
			case "--env", "-e", "--transport", "-t", "--header", "-H", "--scope", "-s":
				if i+1 >= len(c) {
					t.Fatalf("%s: %s without a value", where, a)
				}
				i++
				switch a {
				case "--env", "-e":
					k, _, _ := strings.Cut(c[i], "=")
					env = append(env, k)
				case "--transport", "-t":
					transport = c[i]
				case "--header", "-H":
					header = c[i]
				}
			default:
				if strings.HasPrefix(a, "-") {
					t.Errorf("%s: claude mcp add option %q is not one this test knows", where, a)
				}
				positional = append(positional, a)
			}
		}
		checkEnvNames(t, where, env)
		switch transport {
		case "stdio":
			// name -- binary args...
			if len(positional) < 2 || !isProxyBinary(positional[1]) {
				t.Errorf("%s: %q: want NAME -- /path/to/zoho-mcp-proxy ARGS", where, c)
				continue
			}
			checkCLI(t, where, positional[2:])
		case "http":
			if len(positional) != 2 {
				t.Errorf("%s: %q: want NAME URL", where, c)
				continue
			}
			checkMCPURL(t, where, positional[1])
			if !strings.HasPrefix(header, "Authorization: Bearer ") {
				t.Errorf("%s: header %q: want Authorization: Bearer TOKEN", where, header)
			}
		default:
			t.Errorf("%s: transport %q", where, transport)
		}
	}
	if adds < 3 {
		t.Errorf("%s has %d claude mcp add commands, want stdio, sandbox and http", where, adds)
	}
}

// TestExampleHTTPClient runs examples/clients/http.sh against the real
// server with a token from a permissions file: it must list the tools and
// call one; without the token it must fail.
func TestExampleHTTPClient(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the test suite needs curl (see README)")
	}
	tokenBytes := make([]byte, 16)
	_, _ = rand.Read(tokenBytes)
	tok := hex.EncodeToString(tokenBytes)
	sum := sha256.Sum256([]byte(tok))
	perms := filepath.Join(t.TempDir(), "permissions.yaml")
	doc := fmt.Sprintf("default_profile: reader\nprofiles:\n  reader: { scopes: [read, monitor] }\ntokens:\n  - { profile: reader, sha256: %q }\n", hex.EncodeToString(sum[:]))
	if err := os.WriteFile(perms, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startHTTPServer(t, "--permissions", perms)
	script, _ := filepath.Abs(filepath.Join(repoRoot, "examples", "clients", "http.sh"))
	run := func(token string) (string, error) {
		cmd := exec.Command("bash", script)
		cmd.Env = baseEnv(map[string]string{"MCP_URL": "http://" + addr + "/mcp", "MCP_TOKEN": token})
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := run(tok)
	if err != nil {
		t.Fatalf("http.sh with the token: %v\n%s", err, out)
	}
	for _, w := range []string{`"name":"get_account"`, `"name":"get_tier_health"`, `"id":3,"result"`, `\"tiers\"`} {
		if !strings.Contains(out, w) {
			t.Errorf("http.sh output lacks %s:\n%.2000s", w, out)
		}
	}
	if strings.Contains(out, `"name":"update_account"`) {
		t.Error("the reader token was shown update_account")
	}
	if out, err := run(""); err == nil || !strings.Contains(out, "401") {
		t.Errorf("http.sh without a token: %v, want a 401 failure\n%s", err, out)
	}
}

func TestExampleDockerRun(t *testing.T) {
	t.Parallel()
	const where = "docker-run.sh"
	runs := 0
	for _, c := range shellCommands(t, where, readRepoFile(t, "examples/docker/docker-run.sh")) {
		if len(c) < 2 || c[0] != "docker" {
			t.Errorf("%s: unexpected command %q", where, c)
			continue
		}
		switch c[1] {
		case "run":
			runs++
			checkContainer(t, dockerRun(t, fmt.Sprintf("%s docker run #%d", where, runs), c[2:]))
		case "inspect", "logs":
		default:
			t.Errorf("%s: docker %s", where, c[1])
		}
	}
	if runs < 3 {
		t.Errorf("%s has %d docker run commands, want HTTP, sandbox and stdio", where, runs)
	}
}

func TestExampleCompose(t *testing.T) {
	t.Parallel()
	var f struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			ReadOnly    bool              `yaml:"read_only"`
			Tmpfs       []string          `yaml:"tmpfs"`
			CapDrop     []string          `yaml:"cap_drop"`
			SecurityOpt []string          `yaml:"security_opt"`
			Restart     string            `yaml:"restart"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, "examples/docker/compose.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("compose.yaml: %v (a key this test does not know: teach it)", err)
	}
	if len(f.Services) != 1 {
		t.Fatalf("%d services, want 1", len(f.Services))
	}
	for name, s := range f.Services {
		c := container{where: "compose.yaml " + name, image: s.Image, args: s.Command, env: s.Environment,
			publish: s.Ports, volumes: s.Volumes, baseDir: filepath.Join(repoRoot, "examples", "docker"),
			named: func(v string) bool { _, ok := f.Volumes[v]; return ok }}
		checkContainer(t, c)
		// A read-only root needs the two places the proxy writes.
		_, cache := imageDefaults(t)
		if s.ReadOnly {
			if !slices.Contains(s.Tmpfs, "/tmp") {
				t.Errorf("%s: read_only without a tmpfs on /tmp, where bulk results are spooled", c.where)
			}
			if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.Contains(v, ":"+cache) }) {
				t.Errorf("%s: read_only without a volume on %s, the token cache", c.where, cache)
			}
		}
	}
}

// --- environment names ---------------------------------------------------------

// configEnvNames reads the environment variable names the config package
// declares (its Env* string constants) from its source, so that an example
// naming a variable the proxy does not read fails, and new ones need no edit
// here.
func configEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join(repoRoot, "config")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Env") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					names[s] = true
				}
			}
			return true
		})
	}
	if !names[config.EnvClientID] || !names[config.EnvPermissions] {
		t.Fatalf("config's Env constants not found: %v", names)
	}
	return names
}
