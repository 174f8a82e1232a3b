package ports

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	ports := map[string]int{"2379": 12379, "53/udp": 10053}
	volumes := map[string]string{"/data": "/tmp/vol"}
	for _, tc := range []struct {
		arg, want string
		bad       bool
	}{
		{arg: "plain", want: "plain"},
		{arg: "http://[::1]:{port:2379}", want: "http://[::1]:12379"},
		{arg: "{port:53/udp}", want: "10053"},
		{arg: "{volume:/data}/kv.db", want: "/tmp/vol/kv.db"},
		{arg: "{port:2379}-{volume:/data}", want: "12379-/tmp/vol"},
		{arg: "{port:80}", bad: true},
		{arg: "{volume:/other}", bad: true},
		{arg: "{nope:1}", want: "{nope:1}"},
	} {
		got, err := expand(tc.arg, ports, volumes)
		if tc.bad {
			require.Error(t, err, tc.arg)
			continue
		}
		require.NoError(t, err, tc.arg)
		require.Equal(t, tc.want, got)
	}
}

func TestRunCommand(t *testing.T) {
	echo, err := exec.LookPath("echo")
	require.NoError(t, err)
	tools := map[string]string{"mytool": echo}
	ports := map[string]int{"8080": 18080}
	volumes := map[string]string{"/data": "/tmp/vol"}
	for _, tc := range []struct {
		name string
		c    CommandCheck
		err  string // a substring of the error; "" for a pass
	}{
		{name: "tool with placeholders", c: CommandCheck{Args: []string{"mytool", "port={port:8080}", "db={volume:/data}/kv.db"}, Want: []string{"port=18080 db=/tmp/vol/kv.db\n"}}},
		{name: "host program and stdin", c: CommandCheck{Args: []string{"cat"}, Stdin: "a\nb\n", Want: []string{"a\n", "b\n"}}},
		{name: "stdout lacks want", c: CommandCheck{Args: []string{"mytool", "x"}, Want: []string{"y"}}, err: `lacks "y"`},
		{name: "non-zero exit", c: CommandCheck{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, err: `exit status 3: stdout "out\n", stderr "err\n"`},
		{name: "no such program", c: CommandCheck{Args: []string{"rumpgo-no-such-program"}}, err: "neither a tool of the recipe nor on the host's $PATH"},
		{name: "unknown placeholder", c: CommandCheck{Args: []string{"mytool", "{port:1}"}}, err: "not a published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCommand(context.Background(), &tc.c, tools, ports, volumes)
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
}

func TestHTTPMethodAndBody(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no [::1] here: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		c   HTTPCheck
		err string
	}{
		{c: HTTPCheck{Path: "/x", Want: "GET /x "}},
		{c: HTTPCheck{Method: "POST", Path: "/kv/a", Body: "v1", Want: "POST /kv/a v1"}},
		{c: HTTPCheck{Method: "PUT", Path: "/kv/b", Body: "v2", Want: "PUT /kv/b v2"}},
		{c: HTTPCheck{Method: "DELETE", Path: "/kv/b", Want: "DELETE /kv/b"}},
		{c: HTTPCheck{Path: "/missing", Want: ""}, err: "GET /missing: 404"},
		{c: HTTPCheck{Method: "POST", Path: "/y", Want: "other"}, err: `want 200 and "other"`},
	} {
		err := httpGet(context.Background(), port, &tc.c)
		if tc.err == "" {
			require.NoError(t, err, "%+v", tc.c)
		} else {
			require.ErrorContains(t, err, tc.err)
		}
	}
}

// TestSrcPins: a port whose program is its own source (go.src) builds it
// against the same dependency version this repository's go.mod pins, so
// what `go vet ./...` checks is what the port runs; and its sources are
// embedded, so `rumpgo port build` works outside the repository.
func TestSrcPins(t *testing.T) {
	gomod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	rs, err := List()
	require.NoError(t, err)
	n := 0
	for _, r := range rs {
		g := r.Go
		if g == nil || g.Src == "" {
			continue
		}
		n++
		re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(g.Module) + `\s+(\S+)`)
		m := re.FindSubmatch(gomod)
		require.NotNil(t, m, "%s: go.mod does not require %s", r.Name, g.Module)
		require.Equal(t, string(m[1]), g.Version, "%s: the recipe's %s pin differs from go.mod's", r.Name, g.Module)
		require.Equal(t, "github.com/rumpgo/rumpgo/ports/"+r.Name+"/"+g.Src, g.Package, "%s: package is the src folder's import path", r.Name)

		dir := t.TempDir()
		require.NoError(t, r.stageTree(g.Src, dir))
		staged, err := filepath.Glob(filepath.Join(dir, r.Name, g.Src, "*.go"))
		require.NoError(t, err)
		onDisk, err := filepath.Glob(filepath.Join(r.Name, g.Src, "*.go"))
		require.NoError(t, err)
		require.Len(t, staged, len(onDisk))
		require.NotEmpty(t, staged)
	}
	require.NotZero(t, n, "no port builds its own source")
}

func TestGoSourceKey(t *testing.T) {
	install := &GoSource{Module: "m", Package: "m/cmd/x", Version: "v1.0.0", Flags: []string{"-trimpath"}}
	scratch := *install
	scratch.Scratch = true
	src := *install
	src.Src = "src"
	otherVersion := *install
	otherVersion.Version = "v1.0.1"
	keys := map[string]bool{}
	for _, g := range []*GoSource{install, &scratch, &src, &otherVersion} {
		keys[g.hash()] = true
	}
	require.Len(t, keys, 4, "every way of building has its own cache key")
	// Go-install keys are what they were before scratch builds existed,
	// so existing caches stay valid.
	require.Equal(t, fnv("v1.0.0--trimpath"), install.hash())
	require.True(t, strings.HasPrefix((&Recipe{Name: "x", Go: install}).key(), "x-"))
	// A port built from its own source is keyed by that source too.
	r, err := Get("sqlite-http")
	require.NoError(t, err)
	require.Equal(t, r.Name+"-"+r.Go.hash()+"-"+r.srcHash(), r.key())
	require.NotEqual(t, fnv(""), r.srcHash(), "the source was found")
}
