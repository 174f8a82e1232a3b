package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/image/deb"
	"github.com/rumpgo/rumpgo/image/layers"
	"github.com/rumpgo/rumpgo/image/pack"
	"github.com/rumpgo/rumpgo/launch"
)

const buildUsage = `usage: rumpgo build -o IMAGE [flags] PROGRAM [--] [ARGS...]
       rumpgo build -o IMAGE --rootfs DIR [flags] PROGRAM [--] [ARGS...]
       rumpgo build -o IMAGE --image DOCKER-SAVE.tar|OCI-LAYOUT [flags] [COMMAND [ARGS...]]
       rumpgo build -o IMAGE --deb PACKAGE[,PACKAGE...] [flags] COMMAND [ARGS...]

Writes IMAGE: PROGRAM (at /bin/NAME unless --entry says), the --file
trees, and how to run it (argv PROGRAM ARGS..., env, workdir, user, memory,
ports, volumes). With --rootfs the image's tree is all of DIR and PROGRAM
is a path in it (or a name its PATH finds). Every ELF of the image gets
its interpreter and libraries, as ld.so would find them: from DIR only
with --rootfs (a library found nowhere is a warning naming the ELF),
otherwise from the host for what the tree lacks. The same inputs give
the same bytes.

With --image the tree is a container image's: a docker save tarball or an
OCI image layout (a directory, or a tar of one), its layers applied in
order with their whiteouts; its config's Entrypoint and Cmd (COMMAND
replaces Cmd, as docker run's), Env, WorkingDir, User, ExposedPorts and
Volumes become the image's, each flag overriding or adding to them.

With --deb the tree is Debian packages' (names resolved with their
Depends and Pre-Depends from the host's apt lists, fetched from its apt
cache or by apt-get download into $RUMPGO_DEB_CACHE, default
$XDG_CACHE_HOME/rumpgo/debs; or .deb files), unpacked by dpkg-deb into a
merged-/usr tree; maintainer scripts do not run. Essential packages
(dash for /bin/sh) come only when named; --deb-exclude leaves out a
dependency the program does not use at run time (and what only it
needs). COMMAND is found in the tree.
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
	fromImage := fl.String("image", "", "take the tree and config of a container image: a docker save `TARBALL` or an OCI image layout")
	var files, env, ports, volumes, debs, debExclude stringList
	fl.Var(&debExclude, "deb-exclude", "with --deb, leave out `PACKAGE[,PACKAGE...]` and what only it needs (repeatable)")
	fl.Var(&debs, "deb", "take the tree of Debian `PACKAGE[,PACKAGE...]` (names or .deb files) and their dependencies (repeatable)")
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
	if len(debs) > 0 {
		if *fromImage != "" {
			return fail("--deb and --image are two sources of the tree: give one")
		}
		return buildFromDebs(debs, debExclude, *out, fl, buildFlags{entry: *entry, workdir: *workdir, user: *user, memory: *memory,
			rootfs: *rootfs, files: files, env: env, ports: ports, volumes: volumes}, stderr)
	}
	if *fromImage != "" {
		return buildFromImage(*fromImage, *out, fl, buildFlags{entry: *entry, workdir: *workdir, user: *user, memory: *memory,
			rootfs: *rootfs, files: files, env: env, ports: ports, volumes: volumes}, stderr)
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
	return finishBuild(b, m, files, *rootfs, libPath, *out, stderr)
}

// finishBuild adds the --file trees, gives every ELF of the tree its
// libraries (the --file trees' programs and the modules programs dlopen
// too) and writes the image.
func finishBuild(b *image.Builder, m *image.Manifest, files []string, root, libPath, out string, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	warn := func(s string) { fmt.Fprintf(stderr, "rumpgo build: warning: %s\n", s) }
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	for _, f := range files {
		i := strings.LastIndex(f, ":")
		if i <= 0 {
			return fail("--file %s: want SRC:DST", f)
		}
		if root != "" {
			// Over a whole tree (--rootfs, --image, --deb) a --file
			// replaces the tree's own files at its paths.
			if err := b.Replace(f[:i], f[i+1:]); err != nil {
				return fail("--file %s: %v", f, err)
			}
		}
		if err := b.AddHost(f[:i], f[i+1:]); err != nil {
			return fail("--file %s: %v", f, err)
		}
	}
	if _, err := pack.ResolveTree(b, pack.Options{Root: root, LibraryPath: libPath, Warn: warn}); err != nil {
		return fail("%v", err)
	}
	return writeImage(b, m, out, fail)
}

// buildFlags are build's flags buildFromImage takes.
type buildFlags struct {
	entry, workdir, user, rootfs string
	memory                       uint64
	files, env, ports, volumes   []string
}

// buildFromImage is `rumpgo build --image`: the container image's tree,
// unpacked into a scratch directory, and its config as the manifest.
func buildFromImage(src, out string, fl *flag.FlagSet, f buildFlags, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	switch {
	case out == "":
		return fail("-o IMAGE is required")
	case f.rootfs != "":
		return fail("--image and --rootfs are two sources of the tree: give one")
	case f.entry != "":
		return fail("--entry is for a host PROGRAM; with --image COMMAND is resolved in the image")
	}
	im, err := layers.Open(src)
	if err != nil {
		return fail("--image %v", err)
	}
	defer im.Close()
	scratch, err := os.MkdirTemp("", "rumpgo-build-image-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(scratch)
	tree, err := im.Unpack(filepath.Join(scratch, "root"))
	if err != nil {
		return fail("--image %s: %v", src, err)
	}
	return buildTree("--image "+src, tree, im.Config, fl, f, out, stderr)
}

// buildFromDebs is `rumpgo build --deb`: the packages and their
// dependencies unpacked into a scratch directory, COMMAND found in it.
func buildFromDebs(debs, exclude []string, out string, fl *flag.FlagSet, f buildFlags, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	switch {
	case out == "":
		return fail("-o IMAGE is required")
	case f.rootfs != "":
		return fail("--deb and --rootfs are two sources of the tree: give one")
	case f.entry != "":
		return fail("--entry is for a host PROGRAM; with --deb COMMAND is resolved in the packages' tree")
	case fl.NArg() == 0:
		return fail("--deb needs COMMAND: the program of the packages to run")
	}
	split := func(l []string) []string {
		var out []string
		for _, d := range l {
			for _, n := range strings.Split(d, ",") {
				if n = strings.TrimSpace(n); n != "" {
					out = append(out, n)
				}
			}
		}
		return out
	}
	names := split(debs)
	if len(names) == 0 {
		return fail("--deb: no package named")
	}
	ctx := context.Background()
	o := deb.Options{Progress: stderr, Cache: os.Getenv("RUMPGO_DEB_CACHE"), Exclude: split(exclude)}
	pkgs, err := deb.Resolve(ctx, names, o)
	if err != nil {
		return fail("%v", err)
	}
	if err := deb.Fetch(ctx, pkgs, o); err != nil {
		return fail("%v", err)
	}
	scratch, err := os.MkdirTemp("", "rumpgo-build-deb-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(scratch)
	tree, err := deb.Unpack(ctx, pkgs, filepath.Join(scratch, "root"), o)
	if err != nil {
		return fail("--deb: %v", err)
	}
	fmt.Fprintf(stderr, "rumpgo build: %d Debian package(s): %s\n", len(pkgs), debList(pkgs))
	return buildTree("--deb", tree, layers.Config{}, fl, f, out, stderr)
}

// debList names the packages with their versions.
func debList(pkgs []*deb.Package) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name+" "+p.Version)
	}
	return strings.Join(s, ", ")
}

// buildTree makes the image of an unpacked tree and a container config
// (what says where the tree came from, for messages).
func buildTree(what string, tree *layers.Tree, c layers.Config, fl *flag.FlagSet, f buildFlags, out string, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rumpgo build: "+format+"\n", a...)
		return exitFailure
	}
	warn := func(s string) { fmt.Fprintf(stderr, "rumpgo build: warning: %s\n", s) }
	var err error
	argv := append(append([]string(nil), c.Entrypoint...), c.Cmd...)
	if fl.NArg() > 0 {
		cmd := fl.Args()
		if len(cmd) > 1 && cmd[1] == "--" {
			cmd = append([]string{cmd[0]}, cmd[2:]...) // COMMAND -- ARGS, as for a host PROGRAM
		}
		argv = append(append([]string(nil), c.Entrypoint...), cmd...) // COMMAND replaces Cmd
	}
	if len(argv) == 0 {
		return fail("%s: the image config has no Entrypoint or Cmd: give COMMAND", what)
	}
	m := &image.Manifest{Version: image.Version, MemoryMiB: f.memory}
	m.Env = setEnv(append([]string(nil), c.Env...), f.env)
	m.Workdir = f.workdir
	if m.Workdir == "" && c.WorkingDir != "" {
		m.Workdir = path.Clean("/" + c.WorkingDir)
	}
	m.User = f.user
	if m.User == "" {
		if m.User, err = layers.ResolveUser(tree.Dir, c.User); err != nil {
			return fail("%s: %v", what, err)
		}
	}
	m.Ports = f.ports
	if len(m.Ports) == 0 {
		for _, p := range c.Ports() {
			if _, err := launch.ParseForward(expandPort(p)); err != nil {
				warn(fmt.Sprintf("exposed port %s left out: %v", p, err))
				continue
			}
			m.Ports = append(m.Ports, p)
		}
	}
	for _, p := range m.Ports {
		if _, err := launch.ParseForward(expandPort(p)); err != nil {
			return fail("%v", err)
		}
	}
	for _, v := range append(c.VolumeList(), f.volumes...) {
		if v = path.Clean("/" + v); !slices.Contains(m.Volumes, v) {
			m.Volumes = append(m.Volumes, v)
		}
	}
	pathEnv, libPath := strings.TrimPrefix(defaultPath, "PATH="), ""
	for _, kv := range m.Env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = p
		}
		if p, ok := strings.CutPrefix(kv, "LD_LIBRARY_PATH="); ok {
			libPath = p
		}
	}
	if m.Entry, m.Argv, err = pack.FindProgram(tree.Dir, argv, pathEnv, m.Workdir); err != nil {
		return fail("%s: %v", what, err)
	}
	b := image.NewBuilder()
	if err := pack.AddRoot(b, tree.Dir, warn); err != nil {
		return fail("%v", err)
	}
	for p, mode := range tree.Modes {
		b.Chmod(p, mode) // a path a later layer removed is simply gone
	}
	if len(tree.Skipped) > 0 {
		warn(fmt.Sprintf("left out %d layer entries an image cannot hold (device nodes, FIFOs; rumpgo provides /dev): %s",
			len(tree.Skipped), strings.Join(tree.Skipped[:min(5, len(tree.Skipped))], ", ")))
	}
	return finishBuild(b, m, f.files, tree.Dir, libPath, out, stderr)
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
