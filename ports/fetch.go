package ports

import (
	"bufio"
	"context"
	"fmt"
	"io"
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

// key names a port's cache folder: its name, source and version, so a
// change of the pin builds anew.
func (r *Recipe) key() string {
	var s string
	if r.Go != nil {
		s = r.Go.Version + "-" + strings.Join(append(append([]string{}, r.Go.Env...), r.Go.Flags...), " ")
	} else {
		s = "deb-" + r.Debian.Package
	}
	h := uint32(2166136261)
	for _, c := range []byte(s) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%s-%08x", r.Name, h)
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
// with `go install` through the Go module proxy, or taken from the Debian
// package (the host's installed copy, else `apt-get download`). progress
// gets one line per step and one every 15 s while a step runs.
func (r *Recipe) Fetch(ctx context.Context, cache string, progress io.Writer) (string, error) {
	if p, ok := r.Cached(cache); ok {
		fmt.Fprintf(progress, "port %s: cached %s\n", r.Name, p)
		return p, nil
	}
	dir := filepath.Join(cache, r.key())
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin", filepath.Base(r.Entry))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	if r.Go != nil {
		err = r.goInstall(ctx, tmp, bin, progress)
	} else {
		err = r.debian(ctx, tmp, bin, progress)
	}
	if err != nil {
		return "", fmt.Errorf("port %s: %v", r.Name, err)
	}
	// Renamed into place whole: a failed or interrupted fetch caches nothing.
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		// Another fetch of the same port may have won the race.
		if p, ok := r.Cached(cache); ok {
			return p, nil
		}
		return "", err
	}
	p, _ := r.Cached(cache)
	fmt.Fprintf(progress, "port %s: cached %s\n", r.Name, p)
	return p, nil
}

func (r *Recipe) goInstall(ctx context.Context, tmp, bin string, progress io.Writer) error {
	g := r.Go
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("needs the go command to build %s: %v", g.Package, err)
	}
	gobin := filepath.Join(tmp, "gobin")
	args := append([]string{"install"}, g.Flags...)
	args = append(args, g.Package+"@"+g.Version)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = tmp // outside any module: the pinned version's own go.mod rules
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+gobin, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Env = append(cmd.Env, g.Env...)
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
