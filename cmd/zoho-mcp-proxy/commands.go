package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
)

// command is one subcommand. The help text and the "unknown command"
// message are generated from commandTable, so a new row is all a new
// command needs.
type command struct {
	name    string
	summary string // one line for --help
	run     func(e env, ctx context.Context, args []string) error
}

// defaultCommand runs when the first argument is a flag or absent.
const defaultCommand = "serve"

// commandTable lists the subcommands in the order --help shows them.
func commandTable() []command {
	return []command{
		{"serve", "serve MCP over stdio (default) or HTTP (/mcp, /sse, /healthz, /readyz, /metrics)", env.serve},
		{"sandbox", "run only the built-in Zoho emulator and print the settings that point a proxy at it", env.sandbox},
		{"demo", "a self-contained tour: emulator + proxy + MCP client, failover over all three tiers; --serve keeps them running with the status page", env.demo},
		{"check", "validate the config and permissions files and probe each enabled tier", env.check},
		{"login", "authorize tier 1 at Zoho's hosted MCP once (OAuth in a browser) and store the grant", env.login},
		{"healthcheck", "GET a running server's /healthz; exit 0 on 200 OK, else 1 (for container HEALTHCHECKs)", env.healthcheck},
		{"version", "print the version (also --version)", func(e env, _ context.Context, args []string) error { return e.version(args) }},
		{"help", "list the commands, or show one command's flags: help COMMAND (also --help, -h)", env.help},
	}
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commandTable() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// splitCommand picks the command from args: the first argument when it is
// not a flag, --version / --help as their commands, else the default.
func splitCommand(args []string) (name string, rest []string) {
	if len(args) == 0 {
		return defaultCommand, nil
	}
	switch args[0] {
	case "--version", "-version":
		return "version", args[1:]
	case "--help", "-help", "-h":
		return "help", args[1:]
	}
	if strings.HasPrefix(args[0], "-") {
		return defaultCommand, args
	}
	return args[0], args[1:]
}

// unknownCommand is the usage error for a name not in the table.
func unknownCommand(name string) error {
	var names []string
	for _, c := range commandTable() {
		names = append(names, c.name)
	}
	return usageError{fmt.Sprintf("unknown command %q: use one of %s (see zoho-mcp-proxy --help)", name, strings.Join(names, ", "))}
}

// writeUsage prints the program's help: every command of the table with its
// one-line summary.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, `zoho-mcp-proxy: permissioned, resilient Zoho CRM access for AI agents over MCP.

Usage:
  zoho-mcp-proxy [command] [flags]     (no command = %s)

Commands:
`, defaultCommand)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commandTable() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprint(w, `
Run "zoho-mcp-proxy COMMAND -h" for a command's flags. Secrets (ZOHO_CLIENT_SECRET,
ZOHO_REFRESH_TOKEN, ZOHO_MCP_ENDPOINT, ...) come from the environment or the config
file, never from flags.
`)
}

func (e env) help(ctx context.Context, args []string) error {
	switch {
	case len(args) == 0:
		writeUsage(e.stdout)
		return nil
	case len(args) > 1:
		return usageError{fmt.Sprintf("help: give at most one command, not %q", strings.Join(args, " "))}
	case args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
		writeUsage(e.stdout)
		return nil
	}
	c, ok := lookup(args[0])
	if !ok {
		return unknownCommand(args[0])
	}
	// Every command's flag set prints its flags for -h and stops.
	return c.run(e, ctx, []string{"-h"})
}

// healthcheckTimeout bounds one healthcheck request unless --timeout says
// otherwise; it is below Docker's default HEALTHCHECK timeout so the command
// reports why instead of being killed.
const healthcheckTimeout = 3 * time.Second

// defaultHealthURL is /healthz of a server on the default address.
var defaultHealthURL = "http://" + config.DefaultAddr + server.PathHealthz

// healthcheck asks a running server whether it is alive. The container
// image has no shell or curl, so its HEALTHCHECK runs this.
func (e env) healthcheck(ctx context.Context, args []string) error {
	fs := e.newFlagSet("healthcheck", "[--url "+defaultHealthURL+"] [--host NAME] [--timeout 3s]")
	rawURL := fs.String("url", defaultHealthURL, "the server's /healthz URL")
	host := fs.String("host", "", "Host header to send, when http.allowed_hosts restricts it (default: the URL's host)")
	timeout := fs.Duration("timeout", healthcheckTimeout, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("healthcheck: --url %q is not an http(s) URL such as %s", *rawURL, defaultHealthURL)}
	}
	if *timeout <= 0 {
		return usageError{"healthcheck: --timeout must be positive, e.g. 3s"}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	if *host != "" {
		req.Host = *host
	}
	// No proxy from the environment and no redirects: the answer must come
	// from the server itself.
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("unhealthy: GET %s got no answer within %s", u, *timeout)
		}
		return fmt.Errorf("unhealthy: GET %s: %w", u, errors.Unwrap(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s, want 200 OK", u, resp.Status)
	}
	fmt.Fprintf(e.stdout, "healthy: GET %s answered 200 OK\n", u)
	return nil
}

// bindError adds, when no permissions file is set at all, how to give one:
// the case of a container started without one, whose default command
// listens on every interface.
func bindError(err error, permissionsFile string) error {
	if permissionsFile != "" {
		return err
	}
	return fmt.Errorf("%w. No permissions file is set: write one with profiles and tokens and pass it with --permissions FILE or %s=FILE "+
		"(in a container, mount it read-only, e.g. -v \"$PWD/permissions.yaml:/etc/zoho-mcp-proxy/permissions.yaml:ro\" -e %s=/etc/zoho-mcp-proxy/permissions.yaml)",
		err, config.EnvPermissions, config.EnvPermissions)
}
