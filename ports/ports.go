// Package ports reads the recipes under ports/NAME/port.json (embedded in
// the binary, so `rumpgo port` works from any directory), fetches or builds
// each port's program (a Go module at a pinned version through the Go
// module proxy, or a binary taken as is from a Debian package), turns the
// recipe into `rumpgo build` arguments, and runs its smoke checks against
// a booted image (smoke.go).
package ports

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// recipes holds every ports/NAME/port.json, the files a port bakes and
// the sources of the ports whose program lives in its folder (NAME/src).
//
//go:embed */port.json */files */src
var recipes embed.FS

// Recipe is one ports/NAME/port.json.
type Recipe struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Version is the upstream version the port pins (for Go sources the
	// module version; for Debian the package version it was tested with).
	Version string `json:"version"`
	// Exactly one of Go, Debian and Packages says where the program
	// comes from.
	Go     *GoSource     `json:"go,omitempty"`
	Debian *DebianSource `json:"debian,omitempty"`
	// Packages are Debian packages whose whole tree, with their
	// dependencies, is the image (`rumpgo build --deb`); Entry is a
	// program of that tree.
	Packages []string `json:"packages,omitempty"`
	// Exclude are dependencies of Packages left out (rumpgo build
	// --deb-exclude): those only maintainer scripts and helper scripts
	// use.
	Exclude []string `json:"exclude,omitempty"`
	// Entry is the program's path in the image.
	Entry string `json:"entry"`
	// Args are the default arguments after argv[0].
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	// Files are baked into the image: Src relative to the port's folder.
	Files []File `json:"files,omitempty"`
	// Ports are published by default: GUESTPORT[/udp] each.
	Ports     []string `json:"ports,omitempty"`
	Volumes   []string `json:"volumes,omitempty"`
	Workdir   string   `json:"workdir,omitempty"`
	MemoryMiB uint64   `json:"memory_mib,omitempty"`
	// User runs the program as UID[:GID] (rumpgo build --user).
	User string `json:"user,omitempty"`
	// ReadySeconds is how long the first check after a boot may wait
	// for the server (default 60): PostgreSQL's first boot runs initdb.
	ReadySeconds int `json:"ready_seconds,omitempty"`
	// Tools are host programs the smoke checks run (a client such as
	// etcdctl), built and cached like the port's program.
	Tools []Tool `json:"tools,omitempty"`
	// Smoke lists the checks `rumpgo port test` and tests/ports run.
	Smoke []Check `json:"smoke"`
	// Missing says what rumpgo lacks for the port to work fully (empty
	// when it does); checks that hit the gap carry it as their Gap.
	Missing string `json:"missing,omitempty"`
}

// GoSource builds Package (a main package) of Module at Version with
// `go install`, static (CGO_ENABLED=0 unless Env says otherwise).
//
// With Scratch, Package is built by `go build` in a scratch module that
// requires Module@Version instead: for modules whose go.mod has replace
// directives, which `go install PACKAGE@VERSION` refuses (etcd's). The
// sources are the same; the dependencies are the versions Module's go.mod
// requires (minimal version selection, its replaces ignored).
//
// With Src, the main package is the port's own, in its folder (Src, baked
// into rumpgo like Files), built by `go build` in a scratch module that
// requires Module@Version (its one dependency); Package is its import path
// in this repository, where `go vet ./...` checks it against the same pin.
type GoSource struct {
	Module  string   `json:"module"`
	Package string   `json:"package"`
	Version string   `json:"version"`
	Flags   []string `json:"flags,omitempty"`
	Env     []string `json:"env,omitempty"`
	Scratch bool     `json:"scratch,omitempty"`
	Src     string   `json:"src,omitempty"`
}

// Tool is a host program the smoke checks run, named in a command
// check's args by Name.
type Tool struct {
	Name string    `json:"name"`
	Go   *GoSource `json:"go"`
}

// DebianSource takes Binary from Debian's Package as is.
type DebianSource struct {
	Package string `json:"package"`
	Binary  string `json:"binary"`
}

// File is one host file or tree baked into the image.
type File struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// List returns every embedded recipe, sorted by name.
func List() ([]*Recipe, error) {
	ents, err := fs.ReadDir(recipes, ".")
	if err != nil {
		return nil, err
	}
	var rs []*Recipe
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		r, err := Get(e.Name())
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	return rs, nil
}

// Get returns the recipe of port name.
func Get(name string) (*Recipe, error) {
	if name == "" || strings.ContainsAny(name, "/.") {
		return nil, fmt.Errorf("port %q: bad name", name)
	}
	b, err := recipes.ReadFile(name + "/port.json")
	if err != nil {
		return nil, fmt.Errorf("no port %q (see `rumpgo port list`)", name)
	}
	return Parse(name, b)
}

// Parse reads and checks a recipe.
func Parse(name string, b []byte) (*Recipe, error) {
	var r Recipe
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("port %s: port.json: %v", name, err)
	}
	if err := r.validate(name); err != nil {
		return nil, fmt.Errorf("port %s: port.json: %v", name, err)
	}
	return &r, nil
}

func (r *Recipe) validate(name string) error {
	if r.Name != name {
		return fmt.Errorf("name %q, want the folder's %q", r.Name, name)
	}
	sources := 0
	for _, set := range []bool{r.Go != nil, r.Debian != nil, len(r.Packages) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return fmt.Errorf("want exactly one source: go, debian or packages")
	}
	if len(r.Exclude) > 0 && len(r.Packages) == 0 {
		return fmt.Errorf("exclude is for a packages source")
	}
	for _, p := range append(append([]string{}, r.Packages...), r.Exclude...) {
		if p == "" || strings.ContainsAny(p, " ,/=") {
			return fmt.Errorf("packages: %q is not a Debian package name", p)
		}
	}
	if r.Go != nil {
		if err := r.Go.validate(); err != nil {
			return err
		}
	}
	if d := r.Debian; d != nil && (d.Package == "" || !path.IsAbs(d.Binary)) {
		return fmt.Errorf("debian source needs package and an absolute binary path")
	}
	if !path.IsAbs(r.Entry) {
		return fmt.Errorf("entry %q: want an absolute path", r.Entry)
	}
	for _, f := range r.Files {
		if f.Src == "" || strings.Contains(f.Src, "..") || path.IsAbs(f.Src) || !path.IsAbs(f.Dst) {
			return fmt.Errorf("file %s:%s: want a relative src in the port's folder and an absolute dst", f.Src, f.Dst)
		}
	}
	tools := map[string]bool{}
	for _, t := range r.Tools {
		if t.Name == "" || strings.ContainsAny(t.Name, "/ ") || tools[t.Name] || t.Go == nil {
			return fmt.Errorf("tool %q: want a unique name and a go source", t.Name)
		}
		if t.Go.Src != "" {
			return fmt.Errorf("tool %s: a tool is an upstream program (no src)", t.Name)
		}
		if err := t.Go.validate(); err != nil {
			return fmt.Errorf("tool %s: %v", t.Name, err)
		}
		tools[t.Name] = true
	}
	if len(r.Smoke) == 0 {
		return fmt.Errorf("no smoke checks")
	}
	for i, c := range r.Smoke {
		if err := c.validate(r); err != nil {
			return fmt.Errorf("smoke[%d] %s: %v", i, c.Name, err)
		}
	}
	return nil
}

func (g *GoSource) validate() error {
	if g.Module == "" || g.Package == "" || g.Version == "" || g.Version == "latest" {
		return fmt.Errorf("go source needs module, package and a pinned version")
	}
	if g.Src != "" && (strings.Contains(g.Src, "..") || path.IsAbs(g.Src)) {
		return fmt.Errorf("go source src %q: want a folder of the port's", g.Src)
	}
	return nil
}

// Source describes where the program comes from, for `rumpgo port list`.
func (r *Recipe) Source() string {
	if g := r.Go; g != nil && g.Src != "" {
		return "go ports/" + r.Name + "/" + g.Src + " with " + g.Module + "@" + g.Version
	} else if g != nil {
		return "go " + g.Package + "@" + g.Version
	}
	if r.Debian != nil {
		return "debian " + r.Debian.Package + " " + r.Debian.Binary
	}
	return "debian packages " + strings.Join(r.Packages, ",") + " (and their dependencies)"
}

// Stage writes the port's baked files under dir (they live in the rumpgo
// binary) and returns dir.
func (r *Recipe) Stage(dir string) error {
	for _, f := range r.Files {
		if err := r.stageTree(f.Src, dir); err != nil {
			return err
		}
	}
	return nil
}

// stageTree writes the port's embedded tree src (relative to its folder)
// at dir/NAME/src.
func (r *Recipe) stageTree(src, dir string) error {
	err := fs.WalkDir(recipes, r.Name+"/"+src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := recipes.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("port %s: %s: %v", r.Name, src, err)
	}
	return nil
}

// BuildArgs returns the arguments of `rumpgo build` that bake the image
// out from the program bin and the files Stage wrote under staged. For a
// Packages recipe bin is unused: the tree of the packages is the image.
func (r *Recipe) BuildArgs(bin, staged, out string) []string {
	args := []string{"-o", out}
	if len(r.Packages) > 0 {
		args = append(args, "--deb", strings.Join(r.Packages, ","))
		if len(r.Exclude) > 0 {
			args = append(args, "--deb-exclude", strings.Join(r.Exclude, ","))
		}
	} else {
		args = append(args, "--entry", r.Entry)
	}
	for _, f := range r.Files {
		args = append(args, "--file", filepath.Join(staged, r.Name, filepath.FromSlash(f.Src))+":"+f.Dst)
	}
	for _, e := range r.Env {
		args = append(args, "-e", e)
	}
	for _, p := range r.Ports {
		args = append(args, "-p", p)
	}
	for _, v := range r.Volumes {
		args = append(args, "--volume", v)
	}
	if r.Workdir != "" {
		args = append(args, "-w", r.Workdir)
	}
	if r.MemoryMiB != 0 {
		args = append(args, "--memory", fmt.Sprint(r.MemoryMiB))
	}
	if r.User != "" {
		args = append(args, "--user", r.User)
	}
	if len(r.Packages) > 0 {
		return append(append(args, r.Entry, "--"), r.Args...)
	}
	args = append(args, bin, "--")
	return append(args, r.Args...)
}
