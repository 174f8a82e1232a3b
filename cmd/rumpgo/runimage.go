package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/launch"
)

// runFiles are `rumpgo run`'s flags about files and images: -e, -w, -v;
// apply fills a launch.Config with them and, when PROGRAM is an image,
// with the manifest's values that no flag overrides.
type runFiles struct {
	env     stringList
	workdir string
	vols    []launch.Volume
}

func (r *runFiles) register(fl *flag.FlagSet) {
	fl.Var(&r.env, "e", "set `KEY=VALUE` in the guest's environment (repeatable)")
	fl.StringVar(&r.workdir, "w", "", "the guest's working `DIR`")
	fl.Func("v", "mount host directory HOST at GUEST: `HOST:GUEST[:ro]` (repeatable)", func(s string) error {
		v, err := launch.ParseVolume(s)
		r.vols = append(r.vols, v)
		return err
	})
}

// defaultPath is the PATH an image's program gets when its manifest sets
// none (Debian's for root).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// looksLikeImage reports whether path is an image rather than an ELF: a
// tar header (ustar magic at 257) or a name ending in .img.
func looksLikeImage(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return strings.HasSuffix(path, ".img")
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := io.ReadFull(f, b)
	if n >= 4 && string(b[:4]) == "\x7fELF" {
		return false
	}
	return (n >= 262 && string(b[257:262]) == "ustar") || strings.HasSuffix(path, ".img")
}

// apply completes cfg (built from the flags and PROGRAM ARGS...). It
// returns an exit status and false when the run cannot go on; the caller
// closes cfg.Image.
func (r *runFiles) apply(cfg *launch.Config, fl *flag.FlagSet, stderr io.Writer) (int, bool) {
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, e := range r.env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			fmt.Fprintf(stderr, "rumpgo: -e %s: want KEY=VALUE\n", e)
			return exitFailure, false
		}
	}
	cfg.Volumes, cfg.Cwd = r.vols, r.workdir
	if !looksLikeImage(cfg.Path) {
		cfg.Env = setEnv(cfg.Env, r.env)
		return 0, true
	}
	im, code := openImage(cfg.Path, stderr)
	if im == nil {
		return code, false
	}
	m := im.Manifest
	cfg.Image, cfg.Path = im, m.Entry
	if len(cfg.Argv) > 1 {
		cfg.Argv = append([]string{m.Argv[0]}, cfg.Argv[1:]...) // ARGS replace the manifest's
	} else {
		cfg.Argv = m.Argv
	}
	// The image's environment, not the host's.
	cfg.Env = setEnv(append([]string(nil), m.Env...), r.env)
	if !hasKey(cfg.Env, "PATH") {
		cfg.Env = append(cfg.Env, defaultPath)
	}
	if cfg.Cwd == "" {
		cfg.Cwd = m.Workdir
	}
	if !set["memory"] && m.MemoryMiB != 0 {
		cfg.Memory = m.MemoryMiB << 20
	}
	if !set["user"] && m.User != "" {
		cfg.UID, cfg.GID, _ = image.ParseUser(m.User)
	}
	if !set["p"] {
		for _, p := range m.Ports {
			f, err := launch.ParseForward(expandPort(p))
			if err != nil {
				fmt.Fprintf(stderr, "rumpgo: image %s: port %s: %v\n", im.Path, p, err)
				im.Close()
				return exitNotRunable, false
			}
			cfg.Net.Forwards = append(cfg.Net.Forwards, f)
		}
	}
	if !hasKey(cfg.Env, "HOME") {
		home := "HOME=/"
		if cfg.UID == 0 {
			home = "HOME=/root"
		}
		cfg.Env = append(cfg.Env, home)
	}
	return 0, true
}

// setEnv sets each KEY=VALUE of set in env, replacing an earlier value
// (getenv takes the first).
func setEnv(env, set []string) []string {
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range env {
			if strings.HasPrefix(e, k+"=") {
				env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

func hasKey(env []string, k string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, k+"=") {
			return true
		}
	}
	return false
}
