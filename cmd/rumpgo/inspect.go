package main

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/rumpgo/rumpgo/image"
)

// inspect is `rumpgo inspect IMAGE`: the manifest, facts about the
// program (ELF type, entry, interpreter, Go version and module from
// debug/buildinfo) and every file of the tree.
func inspect(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, "usage: rumpgo inspect IMAGE\n")
		return exitFailure
	}
	im, code := openImage(args[0], stderr)
	if im == nil {
		return code
	}
	defer im.Close()
	m := im.Manifest
	w := func(format string, a ...any) { fmt.Fprintf(stdout, format, a...) }
	w("image: %s (%d bytes, %d files, %d bytes of file data)\n", im.Path, im.Size, im.Entries, im.DataBytes)
	w("manifest:\n")
	argv, _ := json.Marshal(m.Argv)
	w("  entry:   %s\n  argv:    %s\n", m.Entry, argv)
	for _, e := range m.Env {
		w("  env:     %s\n", e)
	}
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	w("  workdir: %s\n  user:    %s\n", or(m.Workdir, "/"), or(m.User, "0:0 (root)"))
	if m.MemoryMiB != 0 {
		w("  memory:  %d MiB\n", m.MemoryMiB)
	} else {
		w("  memory:  rumpgo's default\n")
	}
	for _, p := range m.Ports {
		w("  port:    %s\n", p)
	}
	for _, v := range m.Volumes {
		w("  volume:  %s\n", v)
	}
	w("program %s:\n", m.Entry)
	n := im.Lookup(m.Entry)
	for _, line := range elfFacts(im.Data(n)) {
		w("  %s\n", line)
	}
	for _, line := range spaceReport(im, 10) {
		w("%s\n", line)
	}
	w("files:\n")
	im.Walk(func(p string, n *image.Node) {
		line := fmt.Sprintf("  %s %d:%d %10d %s", fs.FileMode(n.Mode&0o777)|modeType(n.Mode), n.UID, n.GID, n.Size, p)
		if n.IsSymlink() {
			line += " -> " + n.Target
		}
		if n.IsRegular() && n.Nlink > 1 {
			line += fmt.Sprintf(" (%d links)", n.Nlink)
		}
		w("%s\n", line)
	})
	return 0
}

func modeType(m uint32) fs.FileMode {
	switch m & 0o170000 {
	case 0o040000:
		return fs.ModeDir
	case 0o120000:
		return fs.ModeSymlink
	}
	return 0
}

// elfFacts describes an executable: its ELF type and Go build info.
func elfFacts(r io.ReaderAt) []string {
	var out []string
	f, err := elf.NewFile(r)
	if err != nil {
		return []string{"not an ELF file readable by debug/elf: " + err.Error()}
	}
	kind := "static executable"
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	switch {
	case f.Type == elf.ET_DYN && interp == "":
		kind = "static-pie executable"
	case interp != "":
		kind = "dynamic executable, interpreter " + interp
	case f.Type != elf.ET_EXEC:
		kind = f.Type.String()
	}
	out = append(out, fmt.Sprintf("ELF:     %s %s, %s, entry %#x", f.Class, f.Machine, kind, f.Entry))
	bi, err := buildinfo.Read(r)
	if err != nil {
		if strings.Contains(err.Error(), "not a Go executable") {
			return append(out, "Go:      not a Go program")
		}
		return append(out, "Go:      no build info ("+err.Error()+")")
	}
	out = append(out, "Go:      "+bi.GoVersion, "module:  "+bi.Path+" "+bi.Main.Version)
	for _, s := range bi.Settings {
		switch s.Key {
		case "CGO_ENABLED", "GOARCH", "GOAMD64", "-tags", "vcs.revision":
			out = append(out, fmt.Sprintf("setting: %s=%s", s.Key, s.Value))
		}
	}
	return out
}

// openImage opens an image for run and inspect, printing why it cannot
// be used: 127 for a missing file, 126 for a bad image.
func openImage(path string, stderr io.Writer) (*image.Image, int) {
	im, err := image.Open(path)
	if err == nil {
		return im, 0
	}
	var ie *image.Error
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "rumpgo: %v\n", err)
		return nil, exitNotRunable
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "rumpgo: %s: no such file\n", path)
		return nil, exitNotFound
	}
	fmt.Fprintf(stderr, "rumpgo: %v\n", err)
	return nil, exitFailure
}

// spaceReport says what takes the image's space: the largest files and
// the directories holding the most file data (their whole subtree, so a
// parent is listed with its heaviest children, as du shows), each hard
// linked file counted once.
func spaceReport(im *image.Image, top int) []string {
	type item struct {
		path string
		size int64
	}
	var files []item
	dirs := map[string]int64{}
	seen := map[uint64]bool{}
	im.Walk(func(p string, n *image.Node) {
		if !n.IsRegular() || seen[n.Ino] {
			return
		}
		seen[n.Ino] = true
		files = append(files, item{p, n.Size})
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			dirs[d] += n.Size
		}
	})
	var ds []item
	for d, s := range dirs {
		ds = append(ds, item{d, s})
	}
	order := func(v []item) {
		sort.Slice(v, func(i, j int) bool {
			if v[i].size != v[j].size {
				return v[i].size > v[j].size
			}
			return v[i].path < v[j].path
		})
	}
	order(files)
	order(ds)
	pct := func(n int64) string {
		if im.DataBytes == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", float64(n)*100/float64(im.DataBytes))
	}
	out := []string{fmt.Sprintf("space: %d bytes of file data in %d files (hard links once); the largest directories:", im.DataBytes, len(files))}
	for _, d := range ds[:min(top, len(ds))] {
		out = append(out, fmt.Sprintf("  %12d %6s %s/", d.size, pct(d.size), d.path))
	}
	out = append(out, "the largest files:")
	for _, f := range files[:min(top, len(files))] {
		out = append(out, fmt.Sprintf("  %12d %6s %s", f.size, pct(f.size), f.path))
	}
	return out
}
