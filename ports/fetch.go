package ports

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CacheDir is where built and fetched programs are kept:
// $RUMPGO_PORTS_CACHE, else $XDG_CACHE_HOME/rumpgo/ports (the user cache
// directory), else a folder under the temporary directory.
func CacheDir() string {
	if d := os.Getenv("RUMPGO_PORTS_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rumpgo", "ports")
	}
	return filepath.Join(os.TempDir(), "rumpgo-ports-cache")
}

// key names a port's cache folder: its name, source and version (and for
// a port built from its own source, that source), so a change of the pin
// or of the source builds anew.
func (r *Recipe) key() string {
	if r.Go != nil && r.Go.Src != "" {
		return r.Name + "-" + r.Go.hash() + "-" + r.srcHash()
	}
	if r.Go != nil {
		return r.Name + "-" + r.Go.hash()
	}
	if r.Debian != nil {
		return r.Name + "-" + fnv("deb-"+r.Debian.Package)
	}
	return r.Name + "-" + fnv("debs-"+strings.Join(r.Packages, ","))
}

// srcHash covers the names and contents of the port's embedded source.
func (r *Recipe) srcHash() string {
	var b strings.Builder
	fs.WalkDir(recipes, r.Name+"/"+r.Go.Src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := recipes.ReadFile(p)
			fmt.Fprintf(&b, "%s %d %s\n", p, len(data), data)
		}
		return nil
	})
	return fnv(b.String())
}

// hash covers everything that changes what a Go source builds.
func (g *GoSource) hash() string {
	s := g.Version + "-" + strings.Join(append(append([]string{}, g.Env...), g.Flags...), " ")
	if g.Scratch || g.Src != "" {
		// Older keys stay as they were; these builds differ in how.
		s += fmt.Sprintf("-scratch %s %s %s", g.Module, g.Package, g.Src)
	}
	return fnv(s)
}

func fnv(s string) string {
	h := uint32(2166136261)
	for _, c := range []byte(s) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%08x", h)
}

// Cached returns the program's path when an earlier Fetch left it in the
// cache.
func (r *Recipe) Cached(cache string) (string, bool) {
	p := filepath.Join(cache, r.key(), "bin", filepath.Base(r.Entry))
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, true
	}
	return "", false
}

// Fetch returns the port's program on the host: from the cache, or built
// with `go install` (or `go build`, for scratch and src builds) through
// the Go module proxy, or taken from the Debian package (the host's
// installed copy, else `apt-get download`). progress gets one line per
// step and one every 15 s while a step runs.
//
// A Packages recipe has no program of its own to fetch: `rumpgo build
// --deb` fetches the packages. Fetch returns "".
func (r *Recipe) Fetch(ctx context.Context, cache string, progress io.Writer) (string, error) {
	if len(r.Packages) > 0 {
		return "", nil
	}
	return r.fetch(ctx, cache, r.key(), filepath.Base(r.Entry), progress, func(tmp, bin string) error {
		if r.Go != nil {
			return r.goBuild(ctx, r.Go, tmp, bin, progress)
		}
		return r.debian(ctx, tmp, bin, progress)
	})
}

// FetchTools returns the host path of each of the recipe's tools, by
// name, built (or found in the cache) as Fetch does the program.
func (r *Recipe) FetchTools(ctx context.Context, cache string, progress io.Writer) (map[string]string, error) {
	paths := map[string]string{}
	for _, t := range r.Tools {
		key := r.Name + "-tool-" + t.Name + "-" + t.Go.hash()
		p, err := r.fetch(ctx, cache, key, t.Name, progress, func(tmp, bin string) error {
			return r.goBuild(ctx, t.Go, tmp, bin, progress)
		})
		if err != nil {
			return nil, err
		}
		paths[t.Name] = p
	}
	return paths, nil
}

// fetch returns cache/key/bin/name, made by build(tmp, bin) in a
// temporary folder renamed into place whole when it is not cached yet.
func (r *Recipe) fetch(ctx context.Context, cache, key, name string, progress io.Writer, build func(tmp, bin string) error) (string, error) {
	dir := filepath.Join(cache, key)
	cached := func() (string, bool) {
		p := filepath.Join(dir, "bin", name)
		st, err := os.Stat(p)
		return p, err == nil && st.Mode().IsRegular()
	}
	if p, ok := cached(); ok {
		fmt.Fprintf(progress, "port %s: cached %s\n", r.Name, p)
		return p, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin", name)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	if err := build(tmp, bin); err != nil {
		return "", fmt.Errorf("port %s: %v", r.Name, err)
	}
	// Renamed into place whole: a failed or interrupted fetch caches nothing.
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		// Another fetch of the same port may have won the race.
		if p, ok := cached(); ok {
			return p, nil
		}
		return "", err
	}
	p, _ := cached()
	fmt.Fprintf(progress, "port %s: cached %s\n", r.Name, p)
	return p, nil
}

// goBuild builds g's program at bin: `go install PACKAGE@VERSION`, or for
// scratch and src builds `go build` in a scratch module under tmp.
func (r *Recipe) goBuild(ctx context.Context, g *GoSource, tmp, bin string, progress io.Writer) error {
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("needs the go command to build %s: %v", g.Package, err)
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	env = append(env, g.Env...)
	if !g.Scratch && g.Src == "" {
		return r.goInstall(ctx, g, env, tmp, bin, progress)
	}
	mod := filepath.Join(tmp, "mod")
	pkg := g.Package
	if g.Src != "" {
		// The port's own main package, staged as the scratch module's root.
		staged := filepath.Join(tmp, "src")
		if err := r.stageTree(g.Src, staged); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(staged, r.Name, filepath.FromSlash(g.Src)), mod); err != nil {
			return err
		}
		pkg = "."
	} else if err := os.MkdirAll(mod, 0o755); err != nil {
		return err
	}
	// go mod init writes the go line of the toolchain at hand; the build
	// then fills go.sum through the proxy (checked against the checksum
	// database as any download is).
	steps := [][]string{
		{"mod", "init", "rumpgo.port/" + r.Name},
		{"mod", "edit", "-require=" + g.Module + "@" + g.Version},
		append(append([]string{"build", "-mod=mod", "-o", bin}, g.Flags...), pkg),
	}
	what := g.Package + " (" + g.Module + "@" + g.Version + ")"
	fmt.Fprintf(progress, "port %s: go build %s in a scratch module (through the Go module proxy; minutes on a small machine)\n", r.Name, what)
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = mod, env
		if err := runLogged(cmd, r.Name, progress); err != nil {
			return fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
		}
	}
	return nil
}

func (r *Recipe) goInstall(ctx context.Context, g *GoSource, env []string, tmp, bin string, progress io.Writer) error {
	gobin := filepath.Join(tmp, "gobin")
	args := append([]string{"install"}, g.Flags...)
	args = append(args, g.Package+"@"+g.Version)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = tmp // outside any module: the pinned version's own go.mod rules
	cmd.Env = append(env, "GOBIN="+gobin)
	fmt.Fprintf(progress, "port %s: go install %s@%s (through the Go module proxy; minutes on a small machine)\n", r.Name, g.Package, g.Version)
	if err := runLogged(cmd, r.Name, progress); err != nil {
		return fmt.Errorf("go install %s@%s: %v", g.Package, g.Version, err)
	}
	built := filepath.Join(gobin, path2base(g.Package))
	return os.Rename(built, bin)
}

// path2base is the binary name go install gives a package path (its last
// element, skipping a major version suffix).
func path2base(pkg string) string {
	parts := strings.Split(pkg, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = parts[len(parts)-2]
	}
	return last
}

func (r *Recipe) debian(ctx context.Context, tmp, bin string, progress io.Writer) error {
	d := r.Debian
	src := ""
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status} ${Version}", d.Package).Output()
	if err == nil && strings.HasPrefix(string(out), "install ok installed") {
		fmt.Fprintf(progress, "port %s: using the installed Debian package %s %s\n", r.Name, d.Package, strings.Fields(string(out))[3])
		src = d.Binary
	} else {
		if _, err := exec.LookPath("apt-get"); err != nil {
			return fmt.Errorf("needs Debian's %s (apt-get install %s)", d.Package, d.Package)
		}
		fmt.Fprintf(progress, "port %s: apt-get download %s\n", r.Name, d.Package)
		cmd := exec.CommandContext(ctx, "apt-get", "download", d.Package)
		cmd.Dir = tmp
		if err := runLogged(cmd, r.Name, progress); err != nil {
			return fmt.Errorf("apt-get download %s: %v (run apt-get update, or apt-get install %s)", d.Package, err, d.Package)
		}
		debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		if len(debs) != 1 {
			return fmt.Errorf("apt-get download %s: want one .deb, got %d", d.Package, len(debs))
		}
		root := filepath.Join(tmp, "root")
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %v: %s", debs[0], err, out)
		}
		src = filepath.Join(root, d.Binary)
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return fmt.Errorf("%s: %v", d.Binary, err)
	}
	return copyFile(real, bin)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runLogged runs cmd, copying its output to progress prefixed with the
// port's name, and says every 15 s that it still runs.
func runLogged(cmd *exec.Cmd, name string, progress io.Writer) error {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var tail []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(progress, "port %s:   %s\n", name, sc.Text())
			tail = append(tail, sc.Text())
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	errc := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		pw.Close()
		<-done
		return err
	}
	go func() { errc <- cmd.Wait() }()
	for {
		select {
		case err := <-errc:
			pw.Close()
			<-done
			if err != nil && len(tail) > 0 {
				return fmt.Errorf("%v: %s", err, strings.Join(tail, "; "))
			}
			fmt.Fprintf(progress, "port %s: %s done in %v\n", name, filepath.Base(cmd.Path), time.Since(start).Round(time.Second))
			return err
		case <-tick.C:
			fmt.Fprintf(progress, "port %s: still running %s (%v)\n", name, filepath.Base(cmd.Path), time.Since(start).Round(time.Second))
		}
	}
}
