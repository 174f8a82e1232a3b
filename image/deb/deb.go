// Package deb makes an image's tree from Debian packages (`rumpgo build
// --deb`): package names resolved with their dependencies as apt resolves
// them (Depends and Pre-Depends, the first alternative that exists,
// virtual packages through a package that provides them) from the host's
// apt metadata, or .deb files given by path; each fetched from the host's
// apt cache or with `apt-get download` (checked against the SHA256 apt
// lists for it), and unpacked by dpkg-deb into a merged-/usr tree as
// Debian 12 lays one out.
//
// Maintainer scripts do not run (no users are added, no alternatives
// set): the tree is the packages' files, plus the ld.so cache ldconfig
// makes of them as dpkg's libc-bin trigger would. Essential packages
// (dash for /bin/sh, coreutils) come in only when named, as a package
// that needs one need not say so.
package deb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/rumpgo/rumpgo/image/layers"
)

// Package is one Debian package of the tree.
type Package struct {
	Name, Version, Arch string
	// File is the .deb on the host, once fetched.
	File string
	// SHA256 is what apt's lists say File hashes to ("" for a file given
	// by path).
	SHA256 string
	// Why names the package that first needed it ("" for one asked for).
	Why string

	depends  []string // Pre-Depends and Depends clauses, "a (>= 1) | b"
	provides []string
}

// Options say where packages come from.
type Options struct {
	// Cache is where downloaded .deb files are kept (default
	// $XDG_CACHE_HOME/rumpgo/debs).
	Cache string
	// Progress receives one line per step.
	Progress io.Writer
	// Exclude are packages left out, and with them what only they need:
	// a dependency the program never uses at run time (memcached's
	// Depends on perl serves its helper scripts only).
	Exclude []string
}

func (o *Options) progress(format string, a ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "rumpgo build: "+format+"\n", a...)
	}
}

// DefaultCache is $XDG_CACHE_HOME/rumpgo/debs.
func DefaultCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rumpgo", "debs")
	}
	return filepath.Join(os.TempDir(), "rumpgo-debs")
}

// Resolve returns the packages args name (package names, or paths of .deb
// files: anything ending in .deb) and everything they depend on, sorted
// by name. A name apt knows nothing of is an error naming it and, for a
// dependency, the package that needs it.
func Resolve(ctx context.Context, args []string, o Options) ([]*Package, error) {
	have := map[string]*Package{}   // by name
	provided := map[string]string{} // virtual name -> the chosen package providing it
	add := func(p *Package) {
		have[p.Name] = p
		for _, v := range p.provides {
			if _, ok := provided[v]; !ok {
				provided[v] = p.Name
			}
		}
	}
	var names []string
	for _, a := range args {
		if strings.HasSuffix(a, ".deb") {
			p, err := readDeb(ctx, a)
			if err != nil {
				return nil, err
			}
			if old, ok := have[p.Name]; ok && old.File != p.File {
				return nil, fmt.Errorf("--deb: two files of package %s: %s and %s", p.Name, old.File, p.File)
			}
			add(p)
			continue
		}
		if a == "" || strings.ContainsAny(a, " /=") {
			return nil, fmt.Errorf("--deb %q: want a package name or a .deb file", a)
		}
		names = append(names, archless(a))
	}
	excluded := map[string]bool{}
	for _, x := range o.Exclude {
		excluded[archless(x)] = true
	}
	for _, n := range names {
		if excluded[n] {
			return nil, fmt.Errorf("--deb %s is also excluded (--deb-exclude)", n)
		}
	}
	need := map[string]string{} // name -> who needs it
	for _, n := range names {
		if have[n] == nil {
			need[n] = ""
		}
	}
	queue := func(p *Package) {
		for _, clause := range p.depends {
			alts := alternatives(clause)
			satisfied := false
			for _, a := range alts {
				if have[a] != nil || provided[a] != "" || excluded[a] {
					satisfied = true
					break
				}
				if _, ok := need[a]; ok {
					satisfied = true
					break
				}
			}
			if !satisfied && len(alts) > 0 {
				need[clause] = p.Name // resolved below to one of its alternatives
			}
		}
	}
	for _, p := range have {
		queue(p)
	}
	for len(need) > 0 {
		batch := need
		need = map[string]string{}
		// Each clause's alternatives are looked up together; the first
		// that is a real package (or that a real package provides) wins.
		var lookup []string
		for clause := range batch {
			lookup = append(lookup, alternatives(clause)...)
		}
		found, err := aptShow(ctx, lookup)
		if err != nil {
			return nil, err
		}
		var added []*Package
		clauses := sortedKeys(batch)
		for _, clause := range clauses {
			why := batch[clause]
			alts := alternatives(clause)
			if done(alts, have, provided) {
				continue // an earlier clause of this round brought it
			}
			var pick *Package
			for _, a := range alts {
				if p := found[a]; p != nil && !excluded[a] {
					pick = p
					break
				}
			}
			if pick == nil {
				for _, a := range alts {
					prov, err := providers(ctx, a)
					if err != nil {
						return nil, err
					}
					prov = slices.DeleteFunc(prov, func(n string) bool { return excluded[n] })
					for _, pn := range prov {
						if have[pn] != nil {
							pick = have[pn]
							break
						}
					}
					if pick == nil && len(prov) > 0 {
						ps, err := aptShow(ctx, prov[:1])
						if err != nil {
							return nil, err
						}
						pick = ps[prov[0]]
					}
					if pick != nil {
						provided[a] = pick.Name
						break
					}
				}
			}
			if pick == nil {
				if why == "" {
					return nil, fmt.Errorf("--deb %s: no such Debian package in the host's apt lists (apt-get update?)", clause)
				}
				return nil, fmt.Errorf("--deb: %s needs %q, which no Debian package in the host's apt lists provides (apt-get update?)", why, clause)
			}
			if have[pick.Name] != nil {
				continue
			}
			pick.Why = why
			add(pick)
			added = append(added, pick)
		}
		for _, p := range added {
			queue(p)
		}
	}
	out := make([]*Package, 0, len(have))
	for _, p := range have {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func done(alts []string, have map[string]*Package, provided map[string]string) bool {
	for _, a := range alts {
		if have[a] != nil || provided[a] != "" {
			return true
		}
	}
	return false
}

// alternatives are the package names of one dependency clause, versions
// and architecture qualifiers dropped: "perl:any | x (>= 2)" is perl, x.
// A version constraint is not checked: the host's apt lists hold one
// candidate of each package, the one apt itself would install.
func alternatives(clause string) []string {
	var out []string
	for _, alt := range strings.Split(clause, "|") {
		f := strings.Fields(alt)
		if len(f) == 0 {
			continue
		}
		out = append(out, archless(f[0]))
	}
	return out
}

func archless(n string) string {
	n, _, _ = strings.Cut(n, ":")
	return n
}

// stanza reads one RFC 822 control paragraph (continuation lines folded).
func parseStanzas(b []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur, last = map[string]string{}, ""
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if ok {
				last = k
				cur[k] = strings.TrimSpace(v)
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func fromStanza(s map[string]string) *Package {
	p := &Package{Name: s["Package"], Version: s["Version"], Arch: s["Architecture"], SHA256: s["SHA256"]}
	for _, f := range []string{"Pre-Depends", "Depends"} {
		for _, c := range strings.Split(s[f], ",") {
			if c = strings.TrimSpace(c); c != "" {
				p.depends = append(p.depends, c)
			}
		}
	}
	for _, c := range strings.Split(s["Provides"], ",") {
		if f := strings.Fields(c); len(f) > 0 {
			p.provides = append(p.provides, archless(f[0]))
		}
	}
	return p
}

// aptShow returns the candidate versions of the real packages among
// names, by name (virtual and unknown names are absent). A candidate
// only the host's dpkg knows (installed from a source apt no longer
// lists) gives way to the highest version apt can download.
func aptShow(ctx context.Context, names []string) (map[string]*Package, error) {
	out := map[string]*Package{}
	if len(names) == 0 {
		return out, nil
	}
	if _, err := exec.LookPath("apt-cache"); err != nil {
		return nil, fmt.Errorf("--deb NAME needs apt-cache (Debian's apt), or give .deb files: %v", err)
	}
	uniq := map[string]bool{}
	var args []string
	for _, n := range names {
		if !uniq[n] {
			uniq[n] = true
			args = append(args, n)
		}
	}
	sort.Strings(args)
	cmd := exec.CommandContext(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	// apt-cache show answers 100 when some names are virtual or unknown,
	// after printing the others.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && len(b) > 0) && !(errors.As(err, &ee) && strings.Contains(stderr.String(), "No packages found")) {
		return nil, fmt.Errorf("apt-cache show: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var local []string
	for _, s := range parseStanzas(b) {
		p := fromStanza(s)
		if p.Name == "" || !uniq[p.Name] || out[p.Name] != nil {
			continue
		}
		if p.Arch != "all" && p.Arch != "amd64" {
			continue
		}
		if s["Filename"] == "" {
			// Only the host's dpkg has this version (a package installed
			// from elsewhere): take the best version apt can download.
			local = append(local, p.Name)
			continue
		}
		out[p.Name] = p
	}
	for _, n := range local {
		b, err := exec.CommandContext(ctx, "apt-cache", "show", n).Output()
		if err != nil {
			continue
		}
		// apt-cache show lists a package's versions highest first.
		for _, s := range parseStanzas(b) {
			if p := fromStanza(s); p.Name == n && s["Filename"] != "" && (p.Arch == "all" || p.Arch == "amd64") {
				out[n] = p
				break
			}
		}
	}
	return out, nil
}

// providers lists the real packages that provide the virtual package
// name, as `apt-cache showpkg` reports them (sorted, for a deterministic
// choice where several do).
func providers(ctx context.Context, name string) ([]string, error) {
	b, err := exec.CommandContext(ctx, "apt-cache", "showpkg", name).Output()
	if err != nil {
		return nil, nil // unknown: the caller says so
	}
	_, rest, ok := bytes.Cut(b, []byte("Reverse Provides:"))
	if !ok {
		return nil, nil
	}
	var out []string
	for _, line := range strings.Split(string(rest), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !contains(out, f[0]) {
			out = append(out, f[0])
		}
	}
	sort.Strings(out)
	return out, nil
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readDeb reads a .deb file's control fields.
func readDeb(ctx context.Context, file string) (*Package, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("--deb %v", err)
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		return nil, fmt.Errorf("--deb needs dpkg-deb (Debian's dpkg): %v", err)
	}
	b, err := exec.CommandContext(ctx, "dpkg-deb", "-f", file).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("--deb %s: not a Debian package: %s", file, strings.TrimSpace(string(b)))
	}
	ss := parseStanzas(b)
	if len(ss) != 1 || ss[0]["Package"] == "" {
		return nil, fmt.Errorf("--deb %s: no Package field in its control file", file)
	}
	p := fromStanza(ss[0])
	p.File, err = filepath.Abs(file)
	return p, err
}

// debName is the file name apt-get download gives a package.
func (p *Package) debName() string {
	return p.Name + "_" + strings.ReplaceAll(p.Version, ":", "%3a") + "_" + p.Arch + ".deb"
}

// Fetch finds each package's .deb: a file given by path as it is, else
// the host's apt cache (/var/cache/apt/archives), else o.Cache, where the
// ones still missing are downloaded with one `apt-get download`. Each
// file is checked against the SHA256 of apt's lists.
func Fetch(ctx context.Context, pkgs []*Package, o Options) error {
	cache := o.Cache
	if cache == "" {
		cache = DefaultCache()
	}
	var missing []*Package
	for _, p := range pkgs {
		if p.File != "" {
			continue
		}
		for _, dir := range []string{"/var/cache/apt/archives", cache} {
			f := filepath.Join(dir, p.debName())
			if ok, _ := p.check(f); ok {
				p.File = f
				break
			}
		}
		if p.File == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("--deb: %d package(s) to download (%s...) and no apt-get: %v", len(missing), missing[0].Name, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	// Downloaded into a scratch folder of the cache and renamed once
	// checked: an interrupted download leaves nothing half.
	tmp, err := os.MkdirTemp(cache, ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// apt's _apt user downloads when it can reach the folder, else apt
	// warns and downloads as the caller.
	os.Chmod(tmp, 0o777)
	args := []string{"download"}
	for _, p := range missing {
		args = append(args, p.Name+"="+p.Version)
	}
	o.progress("apt-get download: %d package(s)", len(missing))
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, lastLines(out, 3))
	}
	for _, p := range missing {
		f := filepath.Join(tmp, p.debName())
		ok, err := p.check(f)
		if err != nil {
			return fmt.Errorf("apt-get download %s=%s: %v", p.Name, p.Version, err)
		}
		if !ok {
			return fmt.Errorf("apt-get download %s=%s: %s does not have the SHA256 apt's lists give it", p.Name, p.Version, p.debName())
		}
		dst := filepath.Join(cache, p.debName())
		if err := os.Rename(f, dst); err != nil {
			return err
		}
		p.File = dst
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// check reports whether f exists with the package's SHA256.
func (p *Package) check(f string) (bool, error) {
	r, err := os.Open(f)
	if err != nil {
		return false, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return false, err
	}
	return p.SHA256 == "" || hex.EncodeToString(h.Sum(nil)) == p.SHA256, nil
}

// mergedUsr are Debian 12's merged-/usr symlinks, made before unpacking
// so that a package's /bin/sh or /lib/x86_64-linux-gnu lands in /usr as
// on an installed system.
var mergedUsr = [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}}

// Unpack makes a tree of the packages in the new or empty directory dir:
// the merged-/usr links, each package's data in name order (a later
// package's file replaces an earlier one's of the same path, as dpkg's
// Replaces would let it), then the ld.so cache of the tree's libraries.
func Unpack(ctx context.Context, pkgs []*Package, dir string, o Options) (*layers.Tree, error) {
	t, err := layers.NewTree(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "tmp", "var/tmp", "root", "proc", "dev", "sys", "run"} {
		if err := os.MkdirAll(filepath.Join(t.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, l := range mergedUsr {
		if err := os.Symlink(l[1], filepath.Join(t.Dir, l[0])); err != nil {
			return nil, err
		}
	}
	t.Modes["/tmp"] = 0o1777
	t.Modes["/var/tmp"] = 0o1777
	t.Modes["/root"] = 0o700
	for _, p := range pkgs {
		if err := extract(ctx, t, p); err != nil {
			return nil, err
		}
	}
	if ldconfig, err := exec.LookPath("ldconfig"); err == nil {
		if out, err := exec.CommandContext(ctx, ldconfig, "-X", "-r", t.Dir).CombinedOutput(); err != nil {
			o.progress("warning: ldconfig -r: %v: %s", err, lastLines(out, 2))
		}
	} else if _, err := os.Stat("/sbin/ldconfig"); err == nil {
		if out, err := exec.CommandContext(ctx, "/sbin/ldconfig", "-X", "-r", t.Dir).CombinedOutput(); err != nil {
			o.progress("warning: ldconfig -r: %v: %s", err, lastLines(out, 2))
		}
	} else {
		o.progress("warning: no ldconfig: the tree has no /etc/ld.so.cache (ld.so searches its standard directories)")
	}
	return t, nil
}

func extract(ctx context.Context, t *layers.Tree, p *Package) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", p.File)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %v", err)
	}
	xerr := t.Extract(r)
	io.Copy(io.Discard, r)
	werr := cmd.Wait()
	if werr != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %v: %s", p.File, werr, strings.TrimSpace(stderr.String()))
	}
	if xerr != nil {
		return fmt.Errorf("%s (%s): %v", p.Name, filepath.Base(p.File), xerr)
	}
	return nil
}
