package launch

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// This file finds what a dynamically linked program loads at run time on
// the host — its interpreter, every DT_NEEDED library, transitively, and
// what glibc opens behind the program's back — and copies those files into
// the guest's root at the paths ld.so will look them up by. Until images
// exist, that is how `rumpgo run ./dynamic-binary` gets its libraries; the
// image builder calls ResolveLibs to pack the same files.

// Lib is one file a dynamic program needs in its root.
type Lib struct {
	// Path is where the file belongs in the guest: the path the host's
	// ld.so would open it by (symlinks in it are reproduced, not resolved).
	Path string
	// Host is the file on the host that holds its bytes: Path under
	// LibOptions.Sysroot.
	Host string
	// Why is what needs it: "interpreter", "needed by /usr/bin/x",
	// "NSS module", "ld.so cache".
	Why string
}

// LibOptions says where ResolveLibs looks.
type LibOptions struct {
	// Sysroot is a directory holding the root the program runs against;
	// "" is the host's own root. Every path searched is taken under it
	// and every Lib.Path is relative to it.
	Sysroot string
	// LibraryPath is LD_LIBRARY_PATH as the guest will have it: ld.so
	// searches it after DT_RPATH and before DT_RUNPATH.
	LibraryPath string
	// NoNSS leaves out the NSS modules glibc dlopens for name lookups
	// (libnss_files, libnss_dns), which are added by default when the
	// program links glibc and the modules exist.
	NoNSS bool
}

// Missing is a DT_NEEDED library ResolveLibs found nowhere. A program
// whose library is missing still starts; its ld.so then fails with its
// own message, exactly as it would natively.
type Missing struct {
	Name, NeededBy string
	// Hint says more when there is more to say: a library that only a
	// directory of the root's ld.so.conf holds, which its ld.so.cache
	// does not list (ld.so reads the cache, not ld.so.conf).
	Hint string
}

func (m Missing) String() string {
	s := m.Name + " (needed by " + m.NeededBy + ")"
	if m.Hint != "" {
		s += ": " + m.Hint
	}
	return s
}

// Standard search directories of Debian's x86-64 glibc, after the cache
// ("ld.so --help"); /lib64 and /usr/lib64 hold libraries on other
// distributions' layouts.
var defaultLibDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", "/lib64", "/usr/lib64"}

// nssModules are the NSS modules glibc dlopens per /etc/nsswitch.conf for
// the databases rumpgo's default nsswitch.conf names (files, dns). Since
// glibc 2.34 both are built into libc.so.6 and the files are stubs, but a
// program linked against an older glibc still opens them.
var nssModules = []string{"libnss_files.so.2", "libnss_dns.so.2"}

// ldSoCache is the cache ld.so consults before its search directories.
// It is packed as it is: every path in it is either packed too (the
// libraries it found for the program are copied at their cached paths) or
// fails to open in the guest, and then ld.so goes on to the search
// directories, so a host cache listing libraries the guest lacks is
// harmless. That makes libraries from directories only ld.so.conf names
// (/usr/local/lib) work.
const ldSoCache = "/etc/ld.so.cache"

// ResolveLibs returns the files the ELF at exe (a host path) needs to run
// in a root that lacks them: its interpreter, every DT_NEEDED library
// found as the host's glibc ld.so would find it (DT_RPATH, LD_LIBRARY_PATH,
// DT_RUNPATH with $ORIGIN/$LIB/$PLATFORM, /etc/ld.so.cache, the standard
// directories; libraries of another class or machine are skipped, as ld.so
// skips them), then for glibc programs the NSS modules and /etc/ld.so.cache
// itself, breadth-first and without duplicates. A static program needs
// nothing (nil). Libraries found nowhere come back in missing; an error
// means exe itself could not be read.
//
// The image builder packs exactly these files (Lib.Host at Lib.Path,
// keeping the symlinks on the way, as InstallLibs does).
func ResolveLibs(exe string, opt LibOptions) (libs []Lib, missing []Missing, err error) {
	return NewLibResolver(opt).Resolve(exe)
}

// LibResolver resolves the libraries of many ELFs of one root, reading
// each object and the ld.so cache once: what packing a whole tree needs.
type LibResolver struct {
	opt    LibOptions
	objs   map[string]*libObject // parsed objects by host path
	cache  map[string]string
	loaded bool
}

// NewLibResolver returns a resolver searching as opt says.
func NewLibResolver(opt LibOptions) *LibResolver {
	return &LibResolver{opt: opt, objs: map[string]*libObject{}}
}

// Resolve is ResolveLibs of exe with the resolver's options.
func (lr *LibResolver) Resolve(exe string) (libs []Lib, missing []Missing, err error) {
	r := &libResolver{opt: lr.opt, shared: lr, seen: map[string]bool{}, byName: map[string]bool{}}
	main, err := r.readObject(exe)
	if err != nil {
		return nil, nil, err
	}
	if main.interp == "" && len(main.needed) == 0 {
		return nil, nil, nil
	}
	if main.interp != "" {
		if h, err := r.host(main.interp); err == nil {
			if _, err := os.Stat(h); err == nil {
				r.add(Lib{Path: main.interp, Host: h, Why: "interpreter"})
			}
		}
		// ld.so knows itself by its path and by its soname.
		r.byName[filepath.Base(main.interp)] = true
	}
	if abs, err := filepath.Abs(exe); err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			main.path = real // $ORIGIN is where /proc/self/exe points
		}
	}
	if r.opt.Sysroot != "" {
		// Inside the sysroot the program's own path is the guest's.
		if sr, err := filepath.EvalSymlinks(r.opt.Sysroot); err == nil {
			if rel, err := filepath.Rel(sr, main.path); err == nil && !strings.HasPrefix(rel, "..") {
				main.path = "/" + rel
			}
		}
	}

	// Breadth-first, as ld.so loads: the program's needs, then theirs.
	queue := []*libObject{main}
	glibc := false
	for len(queue) > 0 {
		obj := queue[0]
		queue = queue[1:]
		for _, name := range obj.needed {
			if name == "libc.so.6" {
				glibc = true
			}
			if r.byName[name] {
				continue
			}
			r.byName[name] = true
			found := r.find(name, obj)
			if found == nil {
				missing = append(missing, Missing{Name: name, NeededBy: obj.path, Hint: r.confHint(name)})
				continue
			}
			if r.add(Lib{Path: found.path, Host: found.host, Why: "needed by " + obj.path}) {
				queue = append(queue, found)
			}
		}
		// What its ELF dlopen metadata says it opens: packed when found,
		// and not missed when not (the program must cope with a failing
		// dlopen anyway).
		for _, alts := range obj.dlopens {
			for _, name := range alts {
				if r.byName[name] {
					break
				}
				found := r.find(name, obj)
				if found == nil {
					continue
				}
				r.byName[name] = true
				if r.add(Lib{Path: found.path, Host: found.host, Why: "dlopened by " + obj.path}) {
					queue = append(queue, found)
				}
				break
			}
		}
	}
	if glibc && !r.opt.NoNSS {
		for _, name := range nssModules {
			if r.byName[name] {
				continue
			}
			r.byName[name] = true
			// Found as dlopen finds it: from the program's point of view.
			if found := r.find(name, main); found != nil && r.add(Lib{Path: found.path, Host: found.host, Why: "NSS module"}) {
				queue = append(queue, found)
			}
		}
		for len(queue) > 0 { // the modules' own needs (libc, normally seen already)
			obj := queue[0]
			queue = queue[1:]
			for _, name := range obj.needed {
				if !r.byName[name] {
					r.byName[name] = true
					if found := r.find(name, obj); found != nil && r.add(Lib{Path: found.path, Host: found.host, Why: "needed by " + obj.path}) {
						queue = append(queue, found)
					}
				}
			}
		}
	}
	if glibc && r.iconv {
		r.addGconv()
	}
	if main.interp != "" {
		if h, err := r.host(ldSoCache); err == nil {
			if _, err := os.Stat(h); err == nil {
				r.add(Lib{Path: ldSoCache, Host: h, Why: "ld.so cache"})
			}
		}
	}
	return r.libs, missing, nil
}

// gconvDir is where Debian's glibc looks for its charset converters
// (GCONV_PATH's default): the gconv-modules configuration and one shared
// object per charset family.
const gconvDir = "/usr/lib/x86_64-linux-gnu/gconv"

// addGconv packs glibc's charset converters for a program that calls
// iconv_open: glibc converts between UTF-8, UTF-16/32, ASCII and
// ISO-8859-1 itself, but dlopens a module for any other charset, which
// no DT_NEEDED names. The whole directory goes (8 MiB on Debian 12), as
// which charsets a program asks for is known only when it runs.
func (r *libResolver) addGconv() {
	host, err := r.host(gconvDir)
	if err != nil {
		return
	}
	_ = filepath.WalkDir(host, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(host, p)
		if err != nil {
			return nil
		}
		r.add(Lib{Path: filepath.Join(gconvDir, rel), Host: p, Why: "gconv module (iconv)"})
		return nil
	})
}

type libResolver struct {
	opt    LibOptions
	shared *LibResolver // what outlives one program: parsed objects, the cache
	libs   []Lib
	seen   map[string]bool // guest paths added
	byName map[string]bool // DT_NEEDED names resolved or tried
	iconv  bool            // some object calls iconv_open (addGconv)
}

// libObject is what the search needs of one ELF.
type libObject struct {
	path           string // as ld.so names it (the guest path)
	host           string // the host file holding it
	iconv          bool   // calls iconv_open
	interp         string
	needed         []string
	rpath, runpath []string
	class          elf.Class
	machine        elf.Machine
	loader         *libObject // who loaded it, for DT_RPATH inheritance
	dlopens        [][]string // what its ELF dlopen metadata names: alternatives each
}

// host returns the host file behind the guest path p. Under a Sysroot,
// symlinks and ".." resolve inside it as in a chroot (openat2's
// RESOLVE_IN_ROOT): a tree's absolute link such as /lib64/ld-linux-x86-64.so.2
// -> /lib/x86_64-linux-gnu/... names the tree's file, never the host's.
// The result has no symlinks left.
func (r *libResolver) host(p string) (string, error) {
	if r.opt.Sysroot == "" {
		return p, nil
	}
	return HostPathIn(r.opt.Sysroot, p)
}

// HostPathIn resolves the guest path p in the host directory root as the
// guest's kernel would (symlinks and ".." inside root) and returns the
// host path of what it names, free of symlinks.
func HostPathIn(root, p string) (string, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return "", &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
}

func (r *libResolver) add(l Lib) bool {
	if r.seen[l.Path] {
		return false
	}
	r.seen[l.Path] = true
	r.libs = append(r.libs, l)
	return true
}

// find searches for name as ld.so's _dl_map_object does for a DT_NEEDED
// entry of obj.
func (r *libResolver) find(name string, obj *libObject) *libObject {
	try := func(path string) *libObject {
		h, err := r.host(path)
		var o *libObject
		if err == nil {
			o, err = r.readObject(h)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
			return nil
		case err != nil:
			// There but unreadable as an ELF: ld.so stops at it with its
			// own error ("file too short", "invalid ELF header"), so the
			// guest gets the same file and says the same.
			return &libObject{path: filepath.Clean(path), host: h, loader: obj}
		case o.class != elf.ELFCLASS64 || o.machine != elf.EM_X86_64:
			return nil // another machine's library: ld.so skips it and goes on
		}
		o.path, o.loader = filepath.Clean(path), obj
		return o
	}
	if strings.Contains(name, "/") {
		return try(name)
	}
	var dirs []string
	// DT_RPATH of the loader and its loaders, unless the loader has a
	// DT_RUNPATH (which disables DT_RPATH).
	if len(obj.runpath) == 0 {
		for o := obj; o != nil; o = o.loader {
			dirs = append(dirs, o.expand(o.rpath)...)
		}
	}
	if r.opt.LibraryPath != "" {
		dirs = append(dirs, strings.FieldsFunc(r.opt.LibraryPath, func(c rune) bool { return c == ':' || c == ';' })...)
	}
	dirs = append(dirs, obj.expand(obj.runpath)...)
	for _, d := range dirs {
		if o := try(filepath.Join(d, name)); o != nil {
			return o
		}
	}
	if p, ok := r.cached(name); ok {
		if o := try(p); o != nil {
			return o
		}
	}
	for _, d := range defaultLibDirs {
		if o := try(filepath.Join(d, name)); o != nil {
			return o
		}
	}
	return nil
}

// expand substitutes ld.so's dynamic string tokens in search paths.
func (o *libObject) expand(dirs []string) []string {
	var out []string
	origin := filepath.Dir(o.path)
	for _, d := range dirs {
		for _, tok := range [][2]string{{"$ORIGIN", origin}, {"${ORIGIN}", origin},
			{"$LIB", "lib/x86_64-linux-gnu"}, {"${LIB}", "lib/x86_64-linux-gnu"},
			{"$PLATFORM", "x86_64"}, {"${PLATFORM}", "x86_64"}} {
			d = strings.ReplaceAll(d, tok[0], tok[1])
		}
		if d == "" {
			d = "." // an empty entry is the working directory, as ld.so reads it
		}
		out = append(out, d)
	}
	return out
}

// readObject returns the object at host path p, parsed once per
// LibResolver; the copy is the caller's to fill in (path, loader).
func (r *libResolver) readObject(p string) (*libObject, error) {
	o, ok := r.shared.objs[p]
	if !ok {
		var err error
		if o, err = parseObject(p); err != nil {
			return nil, err
		}
		r.shared.objs[p] = o
	}
	if o.iconv {
		r.iconv = true // glibc will dlopen gconv modules
	}
	c := *o
	return &c, nil
}

// parseObject reads the dynamic section of the ELF at host path p, from the
// program headers (PT_INTERP, PT_DYNAMIC), as ld.so does: section headers
// may be stripped.
func parseObject(p string) (*libObject, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	o := &libObject{path: p, host: p, class: ef.Class, machine: ef.Machine}
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return o, nil
	}
	var dyn *elf.Prog
	for _, pr := range ef.Progs {
		switch pr.Type {
		case elf.PT_INTERP:
			b, err := io.ReadAll(io.LimitReader(pr.Open(), unix.PathMax))
			if err != nil {
				return nil, fmt.Errorf("%s: PT_INTERP: %w", p, err)
			}
			o.interp, _, _ = strings.Cut(string(b), "\x00")
		case elf.PT_DYNAMIC:
			dyn = pr
		}
	}
	o.dlopens = dlopenNotes(ef)
	if dyn == nil {
		return o, nil
	}
	if syms, err := ef.DynamicSymbols(); err == nil {
		for _, sym := range syms {
			if sym.Section == elf.SHN_UNDEF && sym.Name == "iconv_open" {
				o.iconv = true
				break
			}
		}
	}
	raw, err := io.ReadAll(io.LimitReader(dyn.Open(), 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: PT_DYNAMIC: %w", p, err)
	}
	var strtab, strsz uint64
	type ent struct {
		tag elf.DynTag
		val uint64
	}
	var ents []ent
	for i := 0; i+16 <= len(raw); i += 16 {
		e := ent{elf.DynTag(binary.LittleEndian.Uint64(raw[i:])), binary.LittleEndian.Uint64(raw[i+8:])}
		if e.tag == elf.DT_NULL {
			break
		}
		switch e.tag {
		case elf.DT_STRTAB:
			strtab = e.val
		case elf.DT_STRSZ:
			strsz = e.val
		}
		ents = append(ents, e)
	}
	// DT_STRTAB is an address: find the file bytes a PT_LOAD puts there.
	var strs []byte
	for _, pr := range ef.Progs {
		if pr.Type == elf.PT_LOAD && strtab >= pr.Vaddr && strtab < pr.Vaddr+pr.Filesz {
			n := min(strsz, pr.Vaddr+pr.Filesz-strtab, 16<<20)
			strs = make([]byte, n)
			if _, err := f.ReadAt(strs, int64(pr.Off+strtab-pr.Vaddr)); err != nil {
				return nil, fmt.Errorf("%s: dynamic string table: %w", p, err)
			}
			break
		}
	}
	str := func(off uint64) string {
		if off >= uint64(len(strs)) {
			return ""
		}
		s, _, _ := bytes.Cut(strs[off:], []byte{0})
		return string(s)
	}
	for _, e := range ents {
		switch e.tag {
		case elf.DT_NEEDED:
			if s := str(e.val); s != "" {
				o.needed = append(o.needed, s)
			}
		case elf.DT_RPATH:
			o.rpath = append(o.rpath, strings.Split(str(e.val), ":")...)
		case elf.DT_RUNPATH:
			o.runpath = append(o.runpath, strings.Split(str(e.val), ":")...)
		}
	}
	return o, nil
}

// dlopenNotes returns the sonames an ELF declares it dlopens, from its
// ELF dlopen metadata (https://systemd.io/ELF_DLOPEN_METADATA/): notes of
// owner "FDO" and type 0x407c0c0a in a .note.dlopen section, whose JSON
// lists {"soname": [...]} objects; of each list the first soname found is
// used, as the spec's alternatives.
func dlopenNotes(ef *elf.File) [][]string {
	const ntFDODlopen = 0x407c0c0a
	sec := ef.Section(".note.dlopen")
	if sec == nil {
		return nil
	}
	b, err := sec.Data()
	if err != nil {
		return nil
	}
	var out [][]string
	le := binary.LittleEndian
	for len(b) >= 12 {
		namesz, descsz, typ := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])
		nameEnd := 12 + (uint64(namesz)+3)&^3
		descEnd := nameEnd + (uint64(descsz)+3)&^3
		if descEnd > uint64(len(b)) {
			break
		}
		name := strings.TrimRight(string(b[12:12+namesz]), "\x00")
		if name == "FDO" && typ == ntFDODlopen {
			desc := bytes.TrimRight(b[nameEnd:nameEnd+uint64(descsz)], "\x00")
			var entries []struct {
				Soname []string `json:"soname"`
			}
			if json.Unmarshal(desc, &entries) == nil {
				for _, e := range entries {
					if len(e.Soname) > 0 {
						out = append(out, e.Soname)
					}
				}
			}
		}
		b = b[descEnd:]
	}
	return out
}

// cached looks name up in the host's /etc/ld.so.cache (the
// "glibc-ld.so.cache1.1" format every glibc since 2.32 writes), as ld.so
// does after the run paths.
func (r *libResolver) cached(name string) (string, bool) {
	s := r.shared
	if !s.loaded {
		s.loaded = true
		s.cache = map[string]string{}
		if h, err := r.host(ldSoCache); err == nil {
			s.cache = readLdSoCache(h)
		}
	}
	p, ok := s.cache[name]
	return p, ok
}

// confHint looks for a library the search missed in the directories the
// root's /etc/ld.so.conf names (and the files it includes): ldconfig
// puts those into /etc/ld.so.cache, which is all ld.so reads of them, so
// a library there that the cache lacks is missing for ld.so too — the
// cache is stale (ldconfig -r ROOT rebuilds it).
func (r *libResolver) confHint(name string) string {
	for _, d := range r.confDirs("/etc/ld.so.conf", 0) {
		if h, err := r.host(filepath.Join(d, name)); err == nil {
			if _, err := os.Stat(h); err == nil {
				return "in " + d + " (named by ld.so.conf) but not in " + ldSoCache + ": run ldconfig in the tree"
			}
		}
	}
	return ""
}

// confDirs reads an ld.so.conf: one directory a line, "include GLOB"
// lines, "#" comments.
func (r *libResolver) confDirs(conf string, depth int) []string {
	h, err := r.host(conf)
	if err != nil || depth > 8 {
		return nil
	}
	b, err := os.ReadFile(h)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "include" && len(f) > 1:
			for _, g := range f[1:] {
				if !filepath.IsAbs(g) {
					g = filepath.Join(filepath.Dir(conf), g)
				}
				dh, err := r.host(filepath.Dir(g))
				if err != nil {
					continue
				}
				matches, _ := filepath.Glob(filepath.Join(dh, filepath.Base(g)))
				sort.Strings(matches)
				for _, m := range matches {
					dirs = append(dirs, r.confDirs(filepath.Join(filepath.Dir(g), filepath.Base(m)), depth+1)...)
				}
			}
		default:
			dirs = append(dirs, f[0])
		}
	}
	return dirs
}

// readLdSoCache maps each x86-64 library's name to its path; an absent or
// unreadable cache is an empty map (ld.so then searches the directories).
func readLdSoCache(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	const magic = "glibc-ld.so.cache1.1"
	// The new format may follow an old-format ("ld.so-1.7.0") table.
	i := bytes.Index(b, []byte(magic))
	if i < 0 {
		return out
	}
	const (
		headerSize = 20 + 4 + 4 + 4 + 4 + 3*4 // magic, nlibs, len_strings, flags+pad, extension_offset, unused
		entrySize  = 4 + 4 + 4 + 4 + 8        // flags, key, value, osversion, hwcap
		// FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 (glibc's ldconfig.h).
		flagX8664Libc6 = 0x0303
	)
	if len(b)-i < headerSize {
		return out
	}
	le := binary.LittleEndian
	n := int(le.Uint32(b[i+20:]))
	str := func(off uint32) string {
		// String offsets count from the start of the new-format header.
		o := i + int(off)
		if off == 0 || o >= len(b) {
			return ""
		}
		s, _, _ := bytes.Cut(b[o:], []byte{0})
		return string(s)
	}
	for k := 0; k < n; k++ {
		at := i + headerSize + k*entrySize
		if at+entrySize > len(b) {
			break
		}
		if int32(le.Uint32(b[at:]))&0xffff != flagX8664Libc6 {
			continue
		}
		key, val := str(le.Uint32(b[at+4:])), str(le.Uint32(b[at+8:]))
		if _, dup := out[key]; key != "" && val != "" && !dup {
			out[key] = val // the first entry is the preferred one
		}
	}
	return out
}

// InstallLibs copies libs into v at their paths, from the host. The host's
// symlinks on the way are reproduced in the guest (Debian's /lib ->
// usr/lib, libfoo.so.1 -> libfoo.so.1.2.3), so every path ld.so or the
// cache may use resolves as on the host. Files the guest already has are
// left alone: an image's own copy wins.
func InstallLibs(v *vfs.VFS, sysroot string, libs []Lib) error {
	m := &libMirror{v: v, sysroot: sysroot, ctx: vfs.RootContext(), fsc: vfs.NewFSContext(v.Root())}
	for _, l := range libs {
		if err := m.mirror(filepath.Clean(l.Path), 0); err != nil {
			return fmt.Errorf("copying %s (%s) into the guest: %w", l.Path, l.Why, err)
		}
	}
	return nil
}

// installHostLibs gives a dynamic program at the host path exe what
// ResolveLibs finds for it on the host, with env's LD_LIBRARY_PATH. It is
// how `rumpgo run` runs a dynamic ELF without an image; with an image root
// the image carries the files and this finds them there already.
func installHostLibs(v *vfs.VFS, exe string, env []string) error {
	opt := LibOptions{}
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "LD_LIBRARY_PATH="); ok {
			opt.LibraryPath = p
		}
	}
	libs, _, err := ResolveLibs(exe, opt)
	if err != nil || len(libs) == 0 {
		return nil // not an ELF the resolver understands: the loader says why
	}
	return InstallLibs(v, "", libs)
}

type libMirror struct {
	v       *vfs.VFS
	sysroot string
	ctx     *vfs.Context
	fsc     *vfs.FSContext
}

// mirror makes the absolute path p resolve in the guest as on the host.
func (m *libMirror) mirror(p string, depth int) error {
	if depth > 40 {
		return unix.ELOOP
	}
	comps := strings.Split(strings.Trim(p, "/"), "/")
	cur := "/"
	for i, c := range comps {
		next := filepath.Join(cur, c)
		hostPath := filepath.Join(m.sysroot, next)
		fi, err := os.Lstat(hostPath)
		if err != nil {
			return err
		}
		last := i == len(comps)-1
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(hostPath)
			if err != nil {
				return err
			}
			if e := m.v.Symlink(m.ctx, m.fsc, target, vfs.Path{}, next); e != 0 && e != unix.EEXIST {
				return fmt.Errorf("symlink %s: %v", next, e)
			}
			resolved := target
			if !filepath.IsAbs(target) {
				resolved = filepath.Join(cur, target)
			}
			// A link leaving the sysroot is taken inside it, as a chroot would.
			rest := filepath.Join(append([]string{"/", resolved}, comps[i+1:]...)...)
			return m.mirror(rest, depth+1)
		case fi.IsDir():
			if e := m.v.Mkdir(m.ctx, m.fsc, vfs.Path{}, next, 0o755, 0); e != 0 && e != unix.EEXIST {
				return fmt.Errorf("mkdir %s: %v", next, e)
			}
		case fi.Mode().IsRegular() && last:
			return m.copyFile(next, hostPath, uint32(fi.Mode().Perm()))
		default:
			return fmt.Errorf("%s: not a directory, symlink or regular file", hostPath)
		}
		cur = next
	}
	return nil
}

func (m *libMirror) copyFile(guest, host string, mode uint32) error {
	f, e := m.v.Open(m.ctx, m.fsc, vfs.Path{}, guest, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL, Mode: mode})
	if e == unix.EEXIST {
		return nil
	}
	if e != 0 {
		return fmt.Errorf("creating %s: %v", guest, e)
	}
	defer f.Close()
	data, err := os.ReadFile(host)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n, e := f.Write(data)
		if e != 0 {
			return fmt.Errorf("writing %s: %v", guest, e)
		}
		data = data[n:]
	}
	return nil
}
