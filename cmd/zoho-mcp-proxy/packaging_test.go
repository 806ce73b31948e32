package main

// Tests of what ships around the binary: the Dockerfile and .dockerignore
// (checked without a Docker engine; scripts/docker-test.sh runs the image
// where one exists), the release recipe, and LICENSE.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/mod/modfile"
	"mvdan.cc/sh/v3/syntax"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cliAccepts reports whether the CLI parses args: the command exists and
// every flag is one of its flags with a value of the right type. Adding -h
// makes the command print its flags and stop instead of running.
func cliAccepts(t *testing.T, args []string) (bool, string) {
	t.Helper()
	code, _, errs := runInProcess(t, context.Background(), nil, append(slices.Clone(args), "-h")...)
	if code != exitOK {
		return false, errs
	}
	return true, ""
}

// flagValue returns the value of --name (or -name, or --name=v) in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = "-" + strings.TrimLeft(a, "-")
		if a == "-"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// shellCommands parses a shell script with a real shell parser and returns
// its simple commands (those nested in $(...) too), each as its assignments
// (NAME=value) followed by its words, with quotes removed and parameters
// kept as ${NAME}.
func shellCommands(t *testing.T, name, src string) [][]string {
	t.Helper()
	f, err := syntax.NewParser().Parse(strings.NewReader(src), name)
	if err != nil {
		t.Fatalf("%s is not valid shell: %v", name, err)
	}
	var cmds [][]string
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok {
			var words []string
			for _, a := range c.Assigns {
				v := ""
				if a.Value != nil {
					v = shellWord(a.Value)
				}
				words = append(words, a.Name.Value+"="+v)
			}
			for _, w := range c.Args {
				words = append(words, shellWord(w))
			}
			cmds = append(cmds, words)
		}
		return true
	})
	return cmds
}

func shellWord(w *syntax.Word) string {
	var b strings.Builder
	var parts func([]syntax.WordPart)
	parts = func(ps []syntax.WordPart) {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(p.Value)
			case *syntax.SglQuoted:
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				parts(p.Parts)
			case *syntax.ParamExp:
				if p.Param != nil {
					b.WriteString("${" + p.Param.Value + "}")
				}
			default:
				_ = syntax.NewPrinter().Print(&b, p)
			}
		}
	}
	parts(w.Parts)
	return b.String()
}

// ldflagsRE finds the -ldflags of a go build in a Makefile, a Dockerfile or
// a script; normalizeVars makes $(V), ${V} and $V the same.
var (
	ldflagsRE     = regexp.MustCompile(`(?m)^LDFLAGS\s*:=\s*(.+)$`)
	normalizeVars = regexp.MustCompile(`\$\(\w+\)|\$\{\w+\}|\$\w+`)
)

func normalizeLdflags(s string) string {
	return normalizeVars.ReplaceAllString(strings.TrimSpace(s), "${V}")
}

// --- Dockerfile --------------------------------------------------------------

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstruction struct {
	line  int
	cmd   string            // upper case: FROM, RUN, COPY, ...
	flags map[string]string // --name=value before the arguments
	args  string            // the rest as written
	exec  []string          // the arguments in exec (JSON) form; nil in shell form
}

// dockerStage is a FROM and the instructions up to the next one.
type dockerStage struct {
	image, name, platform string
	instrs                []dockerInstruction
}

func (s dockerStage) all(cmd string) []dockerInstruction {
	var out []dockerInstruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s dockerStage) last(cmd string) (dockerInstruction, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return dockerInstruction{}, false
	}
	return all[len(all)-1], true
}

// parseDockerfile reads the subset of the Dockerfile grammar the project
// uses: full-line comments, backslash continuations, --flags, shell and exec
// forms. BuildKit's parser would bring the whole of BuildKit into go.mod.
func parseDockerfile(t *testing.T, src string) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(src))
	n := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, rest, _ := strings.Cut(text, " ")
		in := dockerInstruction{line: start, cmd: strings.ToUpper(cmd), flags: map[string]string{}}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var f string
			f, rest, _ = strings.Cut(rest, " ")
			k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if old, dup := in.flags[k]; dup {
				v = old + " " + v // RUN --mount may repeat
			}
			in.flags[k] = v
			rest = strings.TrimSpace(rest)
		}
		if in.cmd == "HEALTHCHECK" {
			rest = strings.TrimSpace(strings.TrimPrefix(rest, "CMD"))
		}
		in.args = rest
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &in.exec); err != nil {
				t.Fatalf("Dockerfile line %d: %s is not a JSON array of strings: %v", start, in.cmd, err)
			}
		}
		if in.cmd == "FROM" {
			f := strings.Fields(rest)
			st := dockerStage{image: f[0], platform: in.flags["platform"]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile line %d: %s before the first FROM", start, in.cmd)
			}
			return
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // comments, parser directives, and comment lines inside a continuation
		}
		if cur.Len() == 0 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			start = n
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

// neededFiles lists the repository files `go build ./cmd/zoho-mcp-proxy`
// reads for linux (amd64 and arm64), relative to the root.
func neededFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"go.mod", "go.sum"}
	for _, arch := range []string{"amd64", "arm64"} {
		cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,SFiles,HFiles,SysoFiles,EmbedFiles", "./cmd/zoho-mcp-proxy")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		root, _ := filepath.Abs(repoRoot)
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			var p struct {
				Dir                                                      string
				Module                                                   *struct{ Main bool }
				GoFiles, CgoFiles, SFiles, HFiles, SysoFiles, EmbedFiles []string
			}
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.Module == nil || !p.Module.Main {
				continue
			}
			rel, err := filepath.Rel(root, p.Dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.SFiles, p.HFiles, p.SysoFiles, p.EmbedFiles) {
				files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
			}
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(strings.NewReader(readRepoFile(t, ".dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a multi-stage build (a Go builder, then a minimal runtime)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	byName := map[string]dockerStage{}
	for _, s := range stages {
		byName[s.name] = s
	}

	t.Run("builder is the Go of go.mod", func(t *testing.T) {
		mf, err := modfile.ParseLax("go.mod", []byte(readRepoFile(t, "go.mod")), nil)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(mf.Go.Version, ".")
		want := "golang:" + parts[0] + "." + parts[1]
		if build.image != want && !strings.HasPrefix(build.image, want+".") && !strings.HasPrefix(build.image, want+"-") {
			t.Errorf("builder image %q, want %s (go.mod says go %s)", build.image, want, mf.Go.Version)
		}
	})

	// The one go build of the builder: same flags as `make build` and the
	// release script, static, its output copied into the final stage.
	var output string
	t.Run("go build like make build", func(t *testing.T) {
		makeLd := ldflagsRE.FindStringSubmatch(readRepoFile(t, "Makefile"))
		if makeLd == nil {
			t.Fatal("Makefile has no LDFLAGS := line")
		}
		var builds [][]string
		for _, run := range build.all("RUN") {
			for _, c := range shellCommands(t, "Dockerfile RUN", run.args) {
				if i := slices.Index(c, "go"); i >= 0 && i+1 < len(c) && c[i+1] == "build" {
					builds = append(builds, c)
				}
			}
		}
		if len(builds) != 1 {
			t.Fatalf("%d go build commands in the builder, want 1", len(builds))
		}
		c := builds[0]
		ld, _ := flagValue(c, "ldflags")
		if got, want := normalizeLdflags(ld), normalizeLdflags(makeLd[1]); got != want {
			t.Errorf("-ldflags %q, Makefile's %q", got, want)
		}
		if !strings.Contains(ld, "-X main.version=${VERSION}") {
			t.Errorf("-ldflags %q does not stamp the VERSION build argument", ld)
		}
		for _, want := range []string{"-trimpath", "CGO_ENABLED=0", "./cmd/zoho-mcp-proxy"} {
			if !slices.Contains(c, want) {
				t.Errorf("go build %q lacks %s", c, want)
			}
		}
		output, _ = flagValue(c, "o")
		for _, arg := range []string{"VERSION", "COMMIT"} {
			if !slices.ContainsFunc(build.all("ARG"), func(in dockerInstruction) bool { return strings.HasPrefix(in.args, arg) }) {
				t.Errorf("the builder has no ARG %s for make docker's --build-arg", arg)
			}
		}
	})

	t.Run("every COPY source exists", func(t *testing.T) {
		pm := dockerignore(t)
		for _, s := range stages {
			for _, in := range s.all("COPY") {
				f := strings.Fields(in.args)
				if len(f) < 2 {
					t.Errorf("line %d: COPY needs a source and a destination", in.line)
					continue
				}
				for _, src := range f[:len(f)-1] {
					if from, ok := in.flags["from"]; ok {
						st, ok := byName[from]
						made := false
						for _, run := range st.all("RUN") {
							made = made || strings.Contains(run.args, "-o "+src) || strings.Contains(run.args, " "+src)
						}
						if !ok || !made {
							t.Errorf("line %d: COPY --from=%s %s: no earlier stage %q makes it", in.line, from, src, from)
						}
						continue
					}
					if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
						t.Errorf("line %d: COPY source %s: %v", in.line, src, err)
					}
					if src != "." {
						if ex, _ := pm.MatchesOrParentMatches(src); ex {
							t.Errorf("line %d: COPY source %s is excluded by .dockerignore", in.line, src)
						}
					}
				}
			}
		}
		if output == "" {
			t.Error("the builder's go build has no -o")
		}
	})

	t.Run("runtime stage", func(t *testing.T) {
		distroless := strings.HasPrefix(final.image, "gcr.io/distroless/static")
		if !distroless && final.image != "scratch" {
			t.Fatalf("final image %q, want distroless static or scratch", final.image)
		}
		if distroless && !strings.HasSuffix(final.image, ":nonroot") {
			t.Errorf("final image %q: use the :nonroot variant", final.image)
		}
		if final.image == "scratch" && !slices.ContainsFunc(final.all("COPY"), func(in dockerInstruction) bool {
			return strings.Contains(in.args, "ca-certificates")
		}) {
			t.Error("a scratch image needs CA certificates copied in: Zoho is HTTPS")
		}
		user, ok := final.last("USER")
		uid, _, _ := strings.Cut(user.args, ":")
		if !ok || uid == "" || uid == "0" || uid == "root" {
			t.Errorf("final stage USER %q: want a non-root user", user.args)
		} else if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("USER %q: give the uid as a number so runAsNonRoot can verify it", user.args)
		}
		// The token cache is somewhere that user can write.
		env, _ := final.last("ENV")
		if cache, ok := strings.CutPrefix(env.args, "XDG_CACHE_HOME="); !ok {
			t.Errorf("ENV %q: set XDG_CACHE_HOME for the token cache", env.args)
		} else if !slices.ContainsFunc(final.all("COPY"), func(in dockerInstruction) bool {
			f := strings.Fields(in.args)
			return in.flags["chown"] == user.args && f[len(f)-1] == cache
		}) {
			t.Errorf("no COPY --chown=%s creates the token cache directory %s", user.args, cache)
		}
	})

	// The entrypoint is the copied binary; the default command and the
	// healthcheck are command lines the CLI accepts, on the same port.
	t.Run("entrypoint, command and healthcheck", func(t *testing.T) {
		entry, _ := final.last("ENTRYPOINT")
		if !slices.Equal(entry.exec, []string{"/zoho-mcp-proxy"}) {
			t.Fatalf("ENTRYPOINT %q, want [\"/zoho-mcp-proxy\"] in exec form", entry.args)
		}
		if !slices.ContainsFunc(final.all("COPY"), func(in dockerInstruction) bool {
			f := strings.Fields(in.args)
			return in.flags["from"] == build.name && f[len(f)-1] == entry.exec[0]
		}) {
			t.Errorf("no COPY --from=%s puts the binary at %s", build.name, entry.exec[0])
		}
		cmd, _ := final.last("CMD")
		if !slices.Equal(cmd.exec, []string{"serve", "--transport", "http", "--addr", "0.0.0.0:8765"}) {
			t.Errorf("CMD %q, want serve --transport http --addr 0.0.0.0:8765 in exec form", cmd.args)
		}
		if ok, why := cliAccepts(t, cmd.exec); !ok {
			t.Errorf("CMD %q is not a command line the CLI accepts: %s", cmd.exec, why)
		}
		addr, _ := flagValue(cmd.exec, "addr")
		_, port, _ := net.SplitHostPort(addr)
		if expose, _ := final.last("EXPOSE"); expose.args != port {
			t.Errorf("EXPOSE %q, want the command's port %s", expose.args, port)
		}

		hc, ok := final.last("HEALTHCHECK")
		if !ok || len(hc.exec) < 2 || hc.exec[0] != entry.exec[0] || hc.exec[1] != "healthcheck" {
			t.Fatalf("HEALTHCHECK %q: want CMD [%q, \"healthcheck\", ...] in exec form (the image has no shell or curl)", hc.args, entry.exec[0])
		}
		if ok, why := cliAccepts(t, hc.exec[1:]); !ok {
			t.Errorf("HEALTHCHECK %q is not a command line the CLI accepts: %s", hc.exec, why)
		}
		raw, ok := flagValue(hc.exec, "url")
		u, err := url.Parse(raw)
		if !ok || err != nil || u.Hostname() != "127.0.0.1" || u.Port() != port || u.Path != server.PathHealthz {
			t.Errorf("HEALTHCHECK --url %q, want http://127.0.0.1:%s%s", raw, port, server.PathHealthz)
		}
		// Docker kills a check that outlives --timeout: the command's own
		// deadline must come first, so the log says why.
		own := healthcheckTimeout
		if v, ok := flagValue(hc.exec, "timeout"); ok {
			own, _ = time.ParseDuration(v)
		}
		if d, err := time.ParseDuration(hc.flags["timeout"]); err != nil || d <= own {
			t.Errorf("HEALTHCHECK --timeout=%q must be longer than the command's own %s", hc.flags["timeout"], own)
		}
	})
}

func TestDockerignore(t *testing.T) {
	t.Parallel()
	pm := dockerignore(t)
	needed := neededFiles(t)
	if len(needed) < 20 {
		t.Fatalf("go list found only %d files: %v", len(needed), needed)
	}
	for _, f := range needed {
		if ex, err := pm.MatchesOrParentMatches(f); err != nil || ex {
			t.Errorf("%s is needed by the build but excluded by .dockerignore", f)
		}
	}
	// What never belongs in the build context: history, build outputs,
	// installed node modules.
	for _, f := range []string{".git/config", "bin/zoho-mcp-proxy", "dist/SHA256SUMS", "e2e/node/node_modules/x/package.json"} {
		if ex, _ := pm.MatchesOrParentMatches(f); !ex {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

// TestDockerTestSkipsWithoutAnEngine runs scripts/docker-test.sh where docker
// is missing, and where its client answers but no engine does (this
// machine's case): both print one line saying why and succeed.
func TestDockerTestSkipsWithoutAnEngine(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("bash script")
	}
	script, _ := filepath.Abs(filepath.Join(repoRoot, "scripts", "docker-test.sh"))
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	// The tools the script uses before it knows there is an engine.
	var tools []string
	for _, name := range []string{"bash", "dirname", "grep", "tail"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no %s", name)
		}
		tools = append(tools, p)
	}
	tests := []struct {
		name, fakeDocker, want string
	}{
		{name: "no docker", want: "docker-test: skipped: no docker command on this machine\n"},
		{name: "no engine", fakeDocker: "#!/bin/sh\n[ \"$1\" = info ] && { echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1; }\necho \"unexpected: docker $*\" >&2; exit 3\n",
			want: "docker-test: skipped: docker info failed, no Docker engine here (Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bin := t.TempDir()
			for _, tool := range tools {
				if err := os.Symlink(tool, filepath.Join(bin, filepath.Base(tool))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fakeDocker != "" {
				if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(tt.fakeDocker), 0o755); err != nil {
					t.Fatal(err)
				}
				if sh, err := exec.LookPath("sh"); err == nil {
					_ = os.Symlink(sh, filepath.Join(bin, "sh"))
				}
			}
			cmd := exec.Command(bash, script)
			cmd.Env = []string{"PATH=" + bin}
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != tt.want {
				t.Errorf("exit %v, output %q\nwant exit 0, output %q", err, out, tt.want)
			}
		})
	}
}

// --- release -----------------------------------------------------------------

// releaseTargets are the five OS/arch pairs `make release` builds.
var releaseTargets = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}

// recordingGo stands in for the go command in TestReleaseRecipe: it logs
// each call (GOOS, GOARCH, CGO_ENABLED, then the arguments, one per line)
// and writes a small file where -o points, so the recipe runs in
// milliseconds instead of compiling five targets.
const recordingGo = `#!/usr/bin/env bash
{ echo "call $GOOS $GOARCH $CGO_ENABLED"; printf '%s\n' "$@"; } >> "$GO_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then printf 'binary for %s/%s\n' "$GOOS" "$GOARCH" > "$2"; fi
  shift
done
`

// TestReleaseRecipe runs scripts/release.sh, as make release does, with a
// go command that records instead of compiling: the five targets are built
// with the Makefile's -ldflags holding the version of git describe and the
// commit, -trimpath, CGO_ENABLED=0, under the names the README gives, and
// SHA256SUMS holds each file's hash. That a stamped binary prints its
// version is TestVersionLdflags (TestMain builds with the same -ldflags).
func TestReleaseRecipe(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("bash script")
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repoRoot
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("no git history here: git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	version, commit := git("describe", "--tags", "--always", "--dirty"), git("rev-parse", "--short=12", "HEAD")
	makeLd := ldflagsRE.FindStringSubmatch(readRepoFile(t, "Makefile"))
	if makeLd == nil {
		t.Fatal("Makefile has no LDFLAGS := line")
	}
	wantLd := strings.NewReplacer("$(VERSION)", version, "$(COMMIT)", commit).Replace(strings.TrimSpace(makeLd[1]))

	dir := t.TempDir()
	fakeGo, log, out := filepath.Join(dir, "go"), filepath.Join(dir, "go.log"), filepath.Join(dir, "dist")
	if err := os.WriteFile(fakeGo, []byte(recordingGo), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "scripts/release.sh")
	cmd.Dir = repoRoot
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "VERSION=") || strings.HasPrefix(kv, "COMMIT=") || strings.HasPrefix(kv, "TARGETS=")
	})
	cmd.Env = append(env, "GO="+fakeGo, "GO_LOG="+log, "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if strings.HasPrefix(line, "call ") {
			calls = append(calls, strings.Fields(line)[1:])
			continue
		}
		calls[len(calls)-1] = append(calls[len(calls)-1], line)
	}
	if len(calls) != len(releaseTargets) {
		t.Fatalf("release.sh ran go %d times, want once per target %v", len(calls), releaseTargets)
	}
	var wantSums strings.Builder
	for i, target := range releaseTargets {
		goos, goarch, _ := strings.Cut(target, "/")
		c := calls[i]
		name := fmt.Sprintf("zoho-mcp-proxy-%s-%s-%s", version, goos, goarch)
		if goos == "windows" {
			name += ".exe"
		}
		want := []string{goos, goarch, "0", "build", "-trimpath", "-ldflags", wantLd, "-o", filepath.Join(out, name), "./cmd/zoho-mcp-proxy"}
		if !slices.Equal(c, want) {
			t.Errorf("target %s: GOOS GOARCH CGO_ENABLED and go arguments\n got %q\nwant %q", target, c, want)
		}
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("target %s: %v", target, err)
			continue
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&wantSums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if string(sums) != wantSums.String() {
		t.Errorf("SHA256SUMS =\n%s\nwant\n%s", sums, wantSums.String())
	}
}

// TestReleaseTargetsResolve checks that each release target's packages
// resolve (no package left without files for it). A full cross build of five
// targets costs minutes of CI: that is make release's job.
func TestReleaseTargetsResolve(t *testing.T) {
	t.Parallel()
	for _, target := range releaseTargets {
		goos, goarch, _ := strings.Cut(target, "/")
		cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}", "./cmd/zoho-mcp-proxy")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("%s: go list: %v\n%s", target, err, out)
		}
	}
}

// --- LICENSE -----------------------------------------------------------------

// licenseTexts maps an SPDX id to sentences its text must contain.
var licenseTexts = map[string][]string{
	"MIT": {"MIT License", "Permission is hereby granted, free of charge, to any person obtaining a copy",
		`THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND`},
}

func TestLicenseMatchesManifest(t *testing.T) {
	t.Parallel()
	var m struct {
		License string `json:"license"`
		Author  struct {
			Name string `json:"name"`
		} `json:"author"`
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	want, ok := licenseTexts[m.License]
	if !ok {
		t.Fatalf("manifest.json license %q: this test knows %v; add its text", m.License, licenseTexts)
	}
	text := readRepoFile(t, "LICENSE")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("LICENSE is not the %s text: it lacks %q", m.License, w)
		}
	}
	if !regexp.MustCompile(`Copyright \(c\) \d{4}(-\d{4})? ` + regexp.QuoteMeta(m.Author.Name)).MatchString(text) {
		t.Errorf("LICENSE has no copyright line naming the manifest's author %q", m.Author.Name)
	}
}
