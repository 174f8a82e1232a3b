package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/launch"
)

const buildUsage = `usage: rumpgo build -o IMAGE [flags] PROGRAM [--] [ARGS...]

Writes IMAGE: PROGRAM (at /bin/NAME unless --entry says), the --file
trees, and how to run it (argv PROGRAM ARGS..., env, workdir, user, memory,
ports, volumes). The same inputs give the same bytes.
`

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// build is `rumpgo build`.
func build(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("rumpgo build", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	out := fl.String("o", "", "the image file to write")
	entry := fl.String("entry", "", "the program's `PATH` in the image (default /bin/NAME)")
	workdir := fl.String("w", "", "the working `DIR` (default /)")
	user := fl.String("user", "", "run as `UID[:GID]` (default root)")
	memory := fl.Uint64("memory", 0, "guest memory in `MiB` (default rumpgo's)")
	var files, env, ports, volumes stringList
	fl.Var(&files, "file", "copy host `SRC:DST` (a file or a directory tree) into the image (repeatable)")
	fl.Var(&env, "e", "set `KEY=VALUE` in the environment (repeatable)")
	fl.Var(&ports, "p", "publish `[HOSTIP:]HOSTPORT:GUESTPORT[/proto]` or PORT when run (repeatable)")
	fl.Var(&volumes, "volume", "declare guest `DIR` a volume mount point (repeatable)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	if err := fl.Parse(args); err != nil {
		fmt.Fprintf(stderr, "rumpgo build: %v\n%s", err, buildUsage)
		fl.SetOutput(stderr)
		fl.PrintDefaults()
		return exitFailure
	}
	if *out == "" || fl.NArg() == 0 {
		fmt.Fprint(stderr, "rumpgo build: -o IMAGE and PROGRAM are required\n"+buildUsage)
		return exitFailure
	}
	prog := fl.Arg(0)
	rest := fl.Args()[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if _, err := boot.ReadELF(prog); err != nil {
		return fail("%v", err)
	}
	if *entry == "" {
		*entry = "/bin/" + filepath.Base(prog)
	}
	m := &image.Manifest{
		Version: image.Version, Entry: path.Clean(*entry), Argv: append([]string{path.Clean(*entry)}, rest...),
		Env: env, Workdir: *workdir, User: *user, MemoryMiB: *memory, Ports: ports, Volumes: volumes,
	}
	for _, p := range ports {
		if _, err := launch.ParseForward(expandPort(p)); err != nil {
			return fail("%v", err)
		}
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	b := image.NewBuilder()
	if err := b.AddHost(prog, m.Entry); err != nil {
		return fail("%v", err)
	}
	// A dynamic program's ld.so and libraries, at the paths ld.so opens
	// them by (launch/libs.go resolves them as the host's ld.so would).
	libs, missing, err := launch.ResolveLibs(prog, launch.LibOptions{})
	if err != nil {
		return fail("%v", err)
	}
	if len(missing) > 0 {
		return fail("%s needs libraries the host does not have: %v", prog, missing)
	}
	seen := map[string]bool{}
	for _, l := range libs {
		if seen[l.Path] {
			continue
		}
		seen[l.Path] = true
		host, err := filepath.EvalSymlinks(l.Host)
		if err != nil {
			return fail("%s (%s): %v", l.Path, l.Why, err)
		}
		if err := b.AddHost(host, l.Path); err != nil {
			return fail("%s (%s): %v", l.Path, l.Why, err)
		}
	}
	for _, f := range files {
		i := strings.LastIndex(f, ":")
		if i <= 0 {
			return fail("--file %s: want SRC:DST", f)
		}
		if err := b.AddHost(f[:i], f[i+1:]); err != nil {
			return fail("--file %s: %v", f, err)
		}
	}
	if m.Workdir != "" {
		if err := b.MkdirAll(m.Workdir); err != nil {
			return fail("-w %s: %v", m.Workdir, err)
		}
	}
	// Written beside the target and renamed: a failed build leaves no
	// half image.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".rumpgo-build-*")
	if err != nil {
		return fail("%v", err)
	}
	defer os.Remove(tmp.Name())
	if err := b.Write(tmp, m, image.Options{}); err != nil {
		tmp.Close()
		return fail("%v", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fail("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return fail("%v", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fail("%v", err)
	}
	return 0
}

// expandPort turns a lone PORT into PORT:PORT.
func expandPort(p string) string {
	spec, proto, _ := strings.Cut(p, "/")
	if !strings.Contains(spec, ":") {
		spec = spec + ":" + spec
	}
	if proto != "" {
		spec += "/" + proto
	}
	return spec
}
