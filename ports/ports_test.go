package ports

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecipesParse(t *testing.T) {
	rs, err := List()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rs {
		names[r.Name] = true
		dir := t.TempDir()
		if err := r.Stage(dir); err != nil {
			t.Fatal(err)
		}
		args := r.BuildArgs("/x/"+r.Name, dir, "out.img")
		for i, a := range args {
			if a != "--file" {
				continue
			}
			src, _, _ := strings.Cut(args[i+1], ":")
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s: staged file: %v", r.Name, err)
			}
		}
		if args[len(args)-len(r.Args)-1] != "--" {
			t.Errorf("%s: args %q", r.Name, args)
		}
	}
	for _, n := range []string{"busybox-httpd", "caddy", "coredns", "redis", "etcd", "sqlite-http"} {
		if !names[n] {
			t.Errorf("port %s missing", n)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		`{"name":"x","entry":"/bin/x","smoke":[{"name":"s","stdio":{"args":[],"want":[]}}]}`,                                   // no source
		`{"name":"x","go":{"module":"m","package":"m","version":"latest"},"entry":"/bin/x","smoke":[{"name":"s","stdio":{}}]}`, // unpinned
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[]}`,                                          // no checks
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","http":{"port":80}}]}`,           // port not published
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","files":[{"src":"../etc","dst":"/e"}],"smoke":[{"name":"s","stdio":{}}]}`,
		`{"name":"y","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","stdio":{}}]}`, // name is not the folder's
		`{"name":"x","bogus":1}`,
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","restart":true,"stdio":{}}]}`,
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","command":{"args":[]}}]}`,                              // no program
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","command":{"args":["c","{port:80}"]}}]}`,               // port not published
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","smoke":[{"name":"s","command":{"args":["c","{volume:/d}/f"]}}]}`,           // no such volume
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","ports":["80"],"smoke":[{"name":"s","http":{"port":80,"method":"GET /"}}]}`, // bad method
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","tools":[{"name":"t"}],"smoke":[{"name":"s","stdio":{}}]}`,                  // tool without a source
		`{"name":"x","debian":{"package":"p","binary":"/b"},"entry":"/b","tools":[{"name":"t","go":{"module":"m","package":"m","version":"v1","src":"s"}}],"smoke":[{"name":"s","stdio":{}}]}`,
		`{"name":"x","go":{"module":"m","package":"m","version":"v1","src":"../s"},"entry":"/b","smoke":[{"name":"s","stdio":{}}]}`,
	} {
		if _, err := Parse("x", []byte(bad)); err == nil {
			t.Errorf("Parse accepted %s", bad)
		}
	}
	if _, err := Get("../etc"); err == nil {
		t.Error("Get accepted a path")
	}
}

func TestPath2Base(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/caddyserver/caddy/v2/cmd/caddy": "caddy",
		"github.com/coredns/coredns":                "coredns",
		"example.com/tool/v3":                       "tool",
	} {
		if got := path2base(in); got != want {
			t.Errorf("path2base(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseAnswers(t *testing.T) {
	// A response to "a.b A" with two answers (compressed names) and an AAAA.
	m := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0}
	m = append(m, 1, 'a', 1, 'b', 0, 0, 1, 0, 1)
	rr := func(typ uint16, data []byte) {
		m = append(m, 0xc0, 12)
		m = binary.BigEndian.AppendUint16(m, typ)
		m = append(m, 0, 1, 0, 0, 0, 60)
		m = binary.BigEndian.AppendUint16(m, uint16(len(data)))
		m = append(m, data...)
	}
	rr(1, []byte{10, 0, 0, 1})
	rr(28, make([]byte, 16))
	rr(1, []byte{10, 0, 0, 2})
	got, rcode, err := parseAnswers(m, 0x1234, 1)
	if err != nil || rcode != 0 || strings.Join(got, ",") != "10.0.0.1,10.0.0.2" {
		t.Fatalf("got %v %d %v", got, rcode, err)
	}
	if _, _, err := parseAnswers(m[:len(m)-3], 0x1234, 1); err == nil {
		t.Error("truncated answer accepted")
	}
	if _, _, err := parseAnswers(m, 0x9999, 1); err == nil {
		t.Error("wrong id accepted")
	}
}

func TestCacheDirEnv(t *testing.T) {
	t.Setenv("RUMPGO_PORTS_CACHE", "/some/where")
	if CacheDir() != "/some/where" {
		t.Error(CacheDir())
	}
	r, _ := Get("busybox-httpd")
	if _, ok := r.Cached(filepath.Join(t.TempDir(), "none")); ok {
		t.Error("empty cache reported a hit")
	}
}
