// Package pack fills an image.Builder from whole trees rather than one
// program: a host directory taken as the guest's root (`rumpgo build
// --rootfs`, and the staged trees of container images), and every ELF of
// the image given what it loads at run time.
//
// Libraries are resolved as the guest's ld.so will resolve them: for a
// whole root, inside that root only (its own /lib and /usr/lib, its
// ld.so.cache, RPATH and RUNPATH with $ORIGIN, symlinks taken inside the
// root as in a chroot), and a library found nowhere is a warning naming
// the ELF that needs it, not a failure: the same tree run natively fails
// the same way. For an image made of host files (a program and --file
// trees), what the tree lacks comes from the host's root, as it does
// for the program itself — so the Python modules of a packed
// /usr/lib/python3.11/lib-dynload bring libsqlite3 and the like.
package pack

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/launch"
)

// AddRoot adds the host directory dir as the image's whole tree. What an
// image cannot hold (device nodes, FIFOs, sockets: a root file system's
// /dev, which rumpgo provides itself) is left out with a warning each.
func AddRoot(b *image.Builder, dir string, warn func(string)) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	skipped := 0
	var first []string
	err = b.AddHostTree(dir, "/", func(p, why string) {
		skipped++
		if len(first) < 5 {
			first = append(first, p+" ("+why+")")
		}
	})
	if skipped > 0 && warn != nil {
		more := ""
		if skipped > len(first) {
			more = fmt.Sprintf(" and %d more", skipped-len(first))
		}
		warn(fmt.Sprintf("left out %d file(s) an image cannot hold (device nodes, FIFOs, sockets; rumpgo provides /dev): %s%s",
			skipped, strings.Join(first, ", "), more))
	}
	return err
}

// Options say where ResolveTree finds libraries.
type Options struct {
	// Root is the host directory that is the whole guest tree (--rootfs,
	// a staged container image): libraries are looked up inside it only.
	// "" means the image is made of host files, and what the tree lacks
	// comes from the host's own root.
	Root string
	// LibraryPath is the guest's LD_LIBRARY_PATH.
	LibraryPath string
	// Warn receives one line per library found nowhere.
	Warn func(string)
}

// Report is what ResolveTree did.
type Report struct {
	ELFs    int          // ELF files of the tree looked at
	Added   []launch.Lib // host files added to the tree
	Missing []MissingLib // libraries found nowhere
}

// MissingLib is a library an ELF of the tree needs that neither the tree
// nor (for host-file images) the host has.
type MissingLib struct {
	ELF string // the guest path of the ELF whose loading needs it
	launch.Missing
}

func (m MissingLib) String() string {
	s := m.ELF + ": " + m.Name + " not found"
	if m.Hint != "" {
		s += ": " + m.Hint
	}
	return s
}

// ResolveTree gives every ELF of b's tree its interpreter and libraries,
// transitively, including those its dlopen metadata names: executables,
// shared libraries and the modules programs dlopen by path (Python's
// lib-dynload, PostgreSQL's lib/*.so), because whichever of them gets
// loaded must find its own DT_NEEDED libraries too. Found host files the
// tree lacks are added at the paths ld.so opens them by; each library
// found nowhere is a MissingLib and one Warn line.
func ResolveTree(b *image.Builder, o Options) (*Report, error) {
	rep := &Report{}
	lr := launch.NewLibResolver(launch.LibOptions{Sysroot: o.Root, LibraryPath: o.LibraryPath})
	seenMissing := map[string]bool{}
	for _, f := range b.RegularFiles() {
		if f.Host == "" || !isELF(f.Host) {
			continue // files given in memory are rumpgo's own (configuration), not programs
		}
		rep.ELFs++
		libs, missing, err := lr.Resolve(f.Host)
		if err != nil {
			continue // an ELF the resolver cannot read: ld.so would say why if it is ever loaded
		}
		for _, l := range libs {
			added, err := addLib(b, l)
			if err != nil {
				return rep, fmt.Errorf("%s (%s): %v", l.Path, l.Why, err)
			}
			if added {
				rep.Added = append(rep.Added, l)
			}
		}
		for _, m := range missing {
			// A library found nowhere is reported once per ELF that
			// needs it directly, however many programs load that ELF.
			key := m.NeededBy + "\x00" + m.Name
			if seenMissing[key] {
				continue
			}
			seenMissing[key] = true
			ml := MissingLib{ELF: guestPath(o.Root, m.NeededBy, f), Missing: m}
			rep.Missing = append(rep.Missing, ml)
		}
	}
	sort.Slice(rep.Missing, func(i, j int) bool { return rep.Missing[i].String() < rep.Missing[j].String() })
	if o.Warn != nil {
		for _, m := range rep.Missing {
			o.Warn("library not found: " + m.String())
		}
	}
	return rep, nil
}

// guestPath names an ELF the resolver reported by host path in the
// guest's terms where it can.
func guestPath(root, p string, f image.RegularFile) string {
	if p == f.Host {
		return f.Path
	}
	if root != "" {
		if real, err := filepath.EvalSymlinks(root); err == nil {
			if rel, err := filepath.Rel(real, p); err == nil && !strings.HasPrefix(rel, "..") {
				return "/" + filepath.ToSlash(rel)
			}
		}
	}
	return p
}

// addLib adds l's host file at l.Path unless the tree already resolves
// l.Path (the tree's own file wins, as an image's copy wins at run time).
func addLib(b *image.Builder, l launch.Lib) (bool, error) {
	dst, exists, err := b.Resolve(l.Path)
	if err != nil || exists {
		return false, err
	}
	host, err := filepath.EvalSymlinks(l.Host)
	if err != nil {
		return false, err
	}
	return true, b.AddHost(host, path.Clean(dst))
}

// isELF reports whether the host file p starts with the ELF magic.
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var m [4]byte
	if _, err := io.ReadFull(f, m[:]); err != nil {
		return false
	}
	return bytes.Equal(m[:], []byte("\x7fELF"))
}
