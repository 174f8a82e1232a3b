package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Builder collects the guest tree of an image before Write.
type Builder struct {
	nodes map[string]*bnode // by guest path without the leading slash; "" is the root
}

type bnode struct {
	mode   fs.FileMode // type and permission bits, as io/fs has them
	data   []byte      // regular files given in memory
	src    string      // regular files copied from the host
	size   int64
	target string // symlinks
	hostID [2]uint64
	linked bool // another host path shares hostID
}

// NewBuilder returns a builder whose tree holds only the root (0755).
func NewBuilder() *Builder {
	return &Builder{nodes: map[string]*bnode{"": {mode: fs.ModeDir | 0o755}}}
}

// guestKey turns an absolute guest path into a key, refusing what the
// reader would refuse.
func guestKey(dst string) (string, error) {
	if !strings.HasPrefix(dst, "/") {
		return "", fmt.Errorf("%q: guest paths must be absolute", dst)
	}
	k := strings.TrimPrefix(path.Clean(dst), "/")
	if err := checkName(k); err != nil && k != "" {
		return "", fmt.Errorf("%q: %v", dst, err)
	}
	return k, nil
}

// put adds n at key, making missing parents (0755 directories).
func (b *Builder) put(key string, n *bnode) error {
	if key == "" {
		if !n.mode.IsDir() {
			return fmt.Errorf("/ must be a directory")
		}
		b.nodes[""].mode = n.mode
		return nil
	}
	if err := b.mkdirs(path.Dir(key)); err != nil {
		return err
	}
	if old, ok := b.nodes[key]; ok {
		if old.mode.IsDir() && n.mode.IsDir() {
			old.mode = n.mode
			return nil
		}
		return fmt.Errorf("/%s is given twice", key)
	}
	b.nodes[key] = n
	return nil
}

func (b *Builder) mkdirs(key string) error {
	if key == "." || key == "" {
		return nil
	}
	if n, ok := b.nodes[key]; ok {
		if !n.mode.IsDir() {
			return fmt.Errorf("/%s is not a directory but has files below it", key)
		}
		return nil
	}
	if err := b.mkdirs(path.Dir(key)); err != nil {
		return err
	}
	b.nodes[key] = &bnode{mode: fs.ModeDir | 0o755}
	return nil
}

// AddFile adds a regular file with the given contents and permissions.
func (b *Builder) AddFile(dst string, perm fs.FileMode, data []byte) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	return b.put(k, &bnode{mode: perm & permMask, data: data, size: int64(len(data))})
}

// AddDir adds a directory.
func (b *Builder) AddDir(dst string, perm fs.FileMode) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	return b.put(k, &bnode{mode: fs.ModeDir | perm&permMask})
}

// AddSymlink adds a symlink; its target is resolved in the guest.
func (b *Builder) AddSymlink(dst, target string) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	if target == "" || len(target) >= 4096 || strings.ContainsRune(target, 0) {
		return fmt.Errorf("%s: bad symlink target %q", dst, target)
	}
	return b.put(k, &bnode{mode: fs.ModeSymlink | 0o777, target: target})
}

// permMask keeps the permission, setuid, setgid and sticky bits.
const permMask = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// AddHost adds the host file or directory tree src at dst. Symlinks are
// copied as symlinks (never followed below src); regular files keep their
// permission bits; host files sharing an inode become hard links. Device
// nodes, FIFOs and sockets are refused.
func (b *Builder) AddHost(src, dst string) error {
	return b.AddHostTree(src, dst, nil)
}

// AddHostTree is AddHost that, when skip is not nil, leaves out what an
// image cannot hold (device nodes, FIFOs, sockets: a root file system's
// /dev) and tells skip about each instead of refusing the tree.
func (b *Builder) AddHostTree(src, dst string, skip func(hostPath, why string)) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		key := k
		if rel != "." {
			key = path.Join(k, filepath.ToSlash(rel))
			if k == "" {
				key = filepath.ToSlash(rel)
			}
		}
		if err := checkName(key); err != nil && key != "" {
			return fmt.Errorf("%s: %v", p, err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := &bnode{mode: fi.Mode() & (fs.ModeType | permMask)}
		switch {
		case fi.Mode().IsDir():
		case fi.Mode().IsRegular():
			n.src, n.size = p, fi.Size()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n.hostID = [2]uint64{st.Dev, st.Ino}
				n.linked = st.Nlink > 1
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			if n.target, err = os.Readlink(p); err != nil {
				return err
			}
			n.mode = fs.ModeSymlink | 0o777
		default:
			if skip != nil {
				skip(p, typeName(fi.Mode()))
				return nil
			}
			return fmt.Errorf("%s: %s, which images cannot hold (only directories, regular files and symlinks)", p, typeName(fi.Mode()))
		}
		return b.put(key, n)
	})
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device node"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "an irregular file"
}

// Options tune Write.
type Options struct {
	// ModTime is every entry's time; zero means the Unix epoch, or
	// SOURCE_DATE_EPOCH when the environment sets it.
	ModTime time.Time
}

// DefaultModTime is the entries' time: SOURCE_DATE_EPOCH (the
// reproducible-builds convention) or the Unix epoch.
func DefaultModTime() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}

// Write writes the image: m, then the tree. m.Entry must be a regular
// file of the tree; the directories of m.Volumes are added.
func (b *Builder) Write(w io.Writer, m *Manifest, o Options) error {
	if m.Version == 0 {
		m.Version = Version
	}
	if err := m.Validate(); err != nil {
		return err
	}
	for _, v := range m.Volumes {
		k, _ := guestKey(v)
		if err := b.mkdirs(k); err != nil {
			return fmt.Errorf("volume %s: %v", v, err)
		}
	}
	ek, _ := guestKey(m.Entry)
	if n, ok := b.nodes[ek]; !ok || !n.mode.IsRegular() {
		return fmt.Errorf("entry %s is not a regular file of the image", m.Entry)
	}
	if o.ModTime.IsZero() {
		o.ModTime = DefaultModTime()
	}
	mb, err := m.encode()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	hdr := func(name string, typ byte, mode fs.FileMode, size int64) *tar.Header {
		h := &tar.Header{Name: name, Typeflag: typ, Size: size, ModTime: o.ModTime, Mode: int64(mode.Perm())}
		if mode&fs.ModeSetuid != 0 {
			h.Mode |= 0o4000
		}
		if mode&fs.ModeSetgid != 0 {
			h.Mode |= 0o2000
		}
		if mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		return h
	}
	if err := tw.WriteHeader(hdr(ManifestName, tar.TypeReg, 0o644, int64(len(mb)))); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	keys := make([]string, 0, len(b.nodes))
	for k := range b.nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	firstOf := map[[2]uint64]string{}
	for _, k := range keys {
		n := b.nodes[k]
		name := RootDir + "/" + k
		switch {
		case n.mode.IsDir():
			if k != "" {
				name += "/"
			}
			err = tw.WriteHeader(hdr(name, tar.TypeDir, n.mode, 0))
		case n.mode&fs.ModeSymlink != 0:
			h := hdr(name, tar.TypeSymlink, 0o777, 0)
			h.Linkname = n.target
			err = tw.WriteHeader(h)
		case n.linked && firstOf[n.hostID] != "":
			h := hdr(name, tar.TypeLink, n.mode, 0)
			h.Linkname = firstOf[n.hostID]
			err = tw.WriteHeader(h)
		default:
			if n.linked {
				firstOf[n.hostID] = name
			}
			if err = tw.WriteHeader(hdr(name, tar.TypeReg, n.mode, n.size)); err == nil {
				err = n.copyData(tw)
			}
		}
		if err != nil {
			return fmt.Errorf("/%s: %v", k, err)
		}
	}
	return tw.Close()
}

// copyData writes a regular file's bytes, checking that a host file did
// not change size since it was added.
func (n *bnode) copyData(w io.Writer) error {
	if n.src == "" {
		_, err := io.Copy(w, bytes.NewReader(n.data))
		return err
	}
	f, err := os.Open(n.src)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := io.Copy(w, io.LimitReader(f, n.size+1))
	if err == nil && c != n.size {
		err = fmt.Errorf("%s changed size while the image was written", n.src)
	}
	return err
}

// MkdirAll makes dst and its parents as 0755 directories where missing.
func (b *Builder) MkdirAll(dst string) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	return b.mkdirs(k)
}

// Replace removes what of the tree the host file or tree src would put
// at dst as anything but a directory over a directory, so that adding it
// replaces the tree's files (as a Dockerfile's COPY over a base image
// does) instead of being given twice.
func (b *Builder) Replace(src, dst string) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		key := path.Join(k, filepath.ToSlash(rel))
		if rel == "." {
			key = k
		}
		n, ok := b.nodes[key]
		if !ok || key == "" || (n.mode.IsDir() && d.IsDir()) {
			return nil
		}
		for sub := range b.nodes {
			if sub == key || strings.HasPrefix(sub, key+"/") {
				delete(b.nodes, sub)
			}
		}
		return nil
	})
}

// Chmod sets the permission bits of the tree's dst (no symlink followed),
// for trees whose files were staged on the host with other modes.
func (b *Builder) Chmod(dst string, perm fs.FileMode) error {
	k, err := guestKey(dst)
	if err != nil {
		return err
	}
	n, ok := b.nodes[k]
	if !ok {
		return fmt.Errorf("%s: not in the image", dst)
	}
	if n.mode&fs.ModeSymlink == 0 {
		n.mode = n.mode&fs.ModeType | perm&permMask
	}
	return nil
}

// RegularFile is one regular file of a Builder's tree: its data is Host's
// (a host file) or Data.
type RegularFile struct {
	Path string // absolute guest path
	Host string
	Data []byte
	Mode fs.FileMode
	Size int64
}

// RegularFiles lists the tree's regular files in byte order of their paths.
func (b *Builder) RegularFiles() []RegularFile {
	var out []RegularFile
	for k, n := range b.nodes {
		if n.mode.IsRegular() {
			out = append(out, RegularFile{Path: "/" + k, Host: n.src, Data: n.data, Mode: n.mode, Size: n.size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Resolve follows the guest path p through the tree as the guest's kernel
// would (symlinks relative to their directory, absolute ones from the
// tree's root, "..", at most 40 links) and returns the absolute path it
// names. exists says whether that is in the tree; when it is not, the
// path is where p would be created (its existing directories resolved),
// and an error means it cannot be (a file where a directory is needed,
// a symlink loop).
func (b *Builder) Resolve(p string) (resolved string, exists bool, err error) {
	k, err := guestKey(p)
	if err != nil {
		return "", false, err
	}
	links := 0
	var walk func(dir string, comps []string) (string, bool, error)
	walk = func(dir string, comps []string) (string, bool, error) {
		for i, c := range comps {
			if c == ".." {
				dir = path.Dir(dir)
				if dir == "." {
					dir = ""
				}
				continue
			}
			next := c
			if dir != "" {
				next = dir + "/" + c
			}
			n, ok := b.nodes[next]
			if !ok {
				rest := strings.Join(comps[i:], "/")
				if dir != "" {
					rest = dir + "/" + rest
				}
				return "/" + rest, false, nil
			}
			if n.mode&fs.ModeSymlink != 0 {
				if links++; links > 40 {
					return "", false, fmt.Errorf("%s: too many levels of symbolic links", p)
				}
				t := n.target
				base := dir
				if strings.HasPrefix(t, "/") {
					base = ""
				}
				var tc []string
				for _, x := range strings.Split(t, "/") {
					if x != "" && x != "." {
						tc = append(tc, x)
					}
				}
				r, ok, err := walk(base, tc)
				if err != nil || !ok {
					if err == nil && i < len(comps)-1 {
						// A dangling link on the way: what follows goes where it points.
						return r + "/" + strings.Join(comps[i+1:], "/"), false, nil
					}
					return r, ok, err
				}
				dir = strings.TrimPrefix(r, "/")
				continue
			}
			if i < len(comps)-1 && !n.mode.IsDir() {
				return "", false, fmt.Errorf("%s: /%s is not a directory", p, next)
			}
			dir = next
		}
		return "/" + dir, true, nil
	}
	var comps []string
	if k != "" {
		comps = strings.Split(k, "/")
	}
	return walk("", comps)
}
