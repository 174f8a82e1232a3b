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
	"github.com/rumpgo/rumpgo/image/pack"
	"github.com/rumpgo/rumpgo/launch"
)

const buildUsage = `usage: rumpgo build -o IMAGE [flags] PROGRAM [--] [ARGS...]
       rumpgo build -o IMAGE --rootfs DIR [flags] PROGRAM [--] [ARGS...]

Writes IMAGE: PROGRAM (at /bin/NAME unless --entry says), the --file
trees, and how to run it (argv PROGRAM ARGS..., env, workdir, user, memory,
ports, volumes). With --rootfs the image's tree is all of DIR and PROGRAM
is a path in it (or a name its PATH finds). Every ELF of the image gets
its interpreter and libraries, as ld.so would find them: from DIR only
with --rootfs (a library found nowhere is a warning naming the ELF),
otherwise from the host for what the tree lacks. The same inputs give
the same bytes.
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
	rootfs := fl.String("rootfs", "", "take host `DIR` as the image's whole tree; PROGRAM is a path in it")
	var files, env, ports, volumes stringList
	fl.Var(&files, "file", "copy host `SRC:DST` (a file or a directory tree) into the image (repeatable)")
	fl.Var(&env, "e", "set `KEY=VALUE` in the environment (repeatable)")
	fl.Var(&ports, "p", "publish `[HOSTIP:]HOSTPORT:GUESTPORT[/proto]` or PORT when run (repeatable)")
	fl.Var(&volumes, "volume", "declare guest `DIR` a volume mount point (repeatable)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	warn := func(s string) { fmt.Fprintf(stderr, "rumpgo build: warning: %s\n", s) }
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
	m := &image.Manifest{Version: image.Version, Env: env, Workdir: *workdir, User: *user, MemoryMiB: *memory, Ports: ports, Volumes: volumes}
	for _, p := range ports {
		if _, err := launch.ParseForward(expandPort(p)); err != nil {
			return fail("%v", err)
		}
	}
	libPath := ""
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "LD_LIBRARY_PATH="); ok {
			libPath = p
		}
	}
	b := image.NewBuilder()
	if *rootfs != "" {
		if *entry != "" {
			return fail("--entry is for a host PROGRAM; with --rootfs PROGRAM is the path in the tree")
		}
		if fi, err := os.Stat(*rootfs); err != nil {
			return fail("--rootfs: %v", err)
		} else if !fi.IsDir() {
			return fail("--rootfs %s: not a directory", *rootfs)
		}
		pathEnv := strings.TrimPrefix(defaultPath, "PATH=")
		for _, kv := range env {
			if p, ok := strings.CutPrefix(kv, "PATH="); ok {
				pathEnv = p
			}
		}
		e, argv, err := pack.FindProgram(*rootfs, append([]string{prog}, rest...), pathEnv, *workdir)
		if err != nil {
			return fail("--rootfs %s: %v", *rootfs, err)
		}
		m.Entry, m.Argv = e, argv
		if err := pack.AddRoot(b, *rootfs, warn); err != nil {
			return fail("--rootfs: %v", err)
		}
	} else {
		if _, err := boot.ReadELF(prog); err != nil {
			return fail("%v", err)
		}
		if *entry == "" {
			*entry = "/bin/" + filepath.Base(prog)
		}
		m.Entry = path.Clean(*entry)
		m.Argv = append([]string{m.Entry}, rest...)
		if err := m.Validate(); err != nil {
			return fail("%v", err)
		}
		if err := b.AddHost(prog, m.Entry); err != nil {
			return fail("%v", err)
		}
		// A dynamic program's ld.so and libraries, at the paths ld.so opens
		// them by (launch/libs.go resolves them as the host's ld.so would).
		libs, missing, err := launch.ResolveLibs(prog, launch.LibOptions{LibraryPath: libPath})
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
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
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
	// Every other ELF of the tree (the --file trees' programs and the
	// modules programs dlopen) gets its libraries too.
	if _, err := pack.ResolveTree(b, pack.Options{Root: *rootfs, LibraryPath: libPath, Warn: warn}); err != nil {
		return fail("%v", err)
	}
	return writeImage(b, m, *out, fail)
}

// writeImage writes the image beside out and renames it into place: a
// failed build leaves no half image.
func writeImage(b *image.Builder, m *image.Manifest, out string, fail func(string, ...any) int) int {
	if m.Workdir != "" {
		if err := b.MkdirAll(m.Workdir); err != nil {
			return fail("-w %s: %v", m.Workdir, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".rumpgo-build-*")
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
	if err := os.Rename(tmp.Name(), out); err != nil {
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
