package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits of what Open accepts, so a hostile image cannot make the index
// itself exhaust memory.
const (
	// MaxEntries bounds the entries of the tree.
	MaxEntries = 1 << 20
	// nameMax and pathMax are Linux's NAME_MAX and PATH_MAX.
	nameMax = 255
	pathMax = 4096
)

// Error is why an image was refused.
type Error struct {
	Image  string // the image file
	Entry  string // the archive entry, "" when the fault is not one entry's
	Reason string
}

func (e *Error) Error() string {
	if e.Entry != "" {
		return fmt.Sprintf("image %s: entry %q: %s", e.Image, e.Entry, e.Reason)
	}
	return fmt.Sprintf("image %s: %s", e.Image, e.Reason)
}

// Node is a file of the image's tree. Hard links share one Node.
type Node struct {
	Name   string // the name it was first indexed under ("" for the root)
	Mode   uint32 // S_IF* type and permission bits, as Linux's st_mode
	UID    uint32
	GID    uint32
	Mtime  int64 // seconds since the epoch
	Size   int64 // regular files' bytes; symlinks' target length
	Offset int64 // regular files: where the data starts in the image
	Target string
	Nlink  uint32
	Ino    uint64 // 1 for the root, then in archive order
	Parent *Node  // directories: the parent (the root's is itself)

	children map[string]*Node
	names    []string // sorted; directories
}

// IsDir reports a directory.
func (n *Node) IsDir() bool { return n.Mode&unix.S_IFMT == unix.S_IFDIR }

// IsRegular reports a regular file.
func (n *Node) IsRegular() bool { return n.Mode&unix.S_IFMT == unix.S_IFREG }

// IsSymlink reports a symlink.
func (n *Node) IsSymlink() bool { return n.Mode&unix.S_IFMT == unix.S_IFLNK }

// Child returns the entry name of a directory, or nil.
func (n *Node) Child(name string) *Node { return n.children[name] }

// Names returns a directory's entry names in byte order.
func (n *Node) Names() []string { return n.names }

// Image is an indexed image, open for reading its files' data.
type Image struct {
	Path     string
	Manifest *Manifest
	Root     *Node
	// Entries is the count of files in the tree (the root included) and
	// DataBytes the sum of regular files' sizes.
	Entries   int
	DataBytes int64
	// Size is the image file's size.
	Size int64

	r      io.ReaderAt
	closer io.Closer
	nodes  []*Node // by Ino-1
}

// Open reads and validates the image file at path. The file stays open
// (file data is read from it in place) until Close.
func Open(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &Error{Image: path, Reason: "not a regular file"}
	}
	im, err := Read(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	im.closer = f
	return im, nil
}

// Close closes the image file.
func (im *Image) Close() error {
	if im.closer != nil {
		return im.closer.Close()
	}
	return nil
}

// ReadAt reads a regular file's data at off: a short count at the end of
// the file, 0 and io.EOF past it.
func (im *Image) ReadAt(n *Node, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= n.Size {
		return 0, io.EOF
	}
	if rest := n.Size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	c, err := im.r.ReadAt(p, n.Offset+off)
	if err == io.EOF && c == len(p) {
		err = nil
	}
	return c, err
}

// Node returns the node with inode number ino, or nil.
func (im *Image) Node(ino uint64) *Node {
	if ino == 0 || ino > uint64(len(im.nodes)) {
		return nil
	}
	return im.nodes[ino-1]
}

// Lookup returns the file at the absolute guest path p, following no
// symlinks, or nil.
func (im *Image) Lookup(p string) *Node {
	n := im.Root
	for _, c := range strings.Split(strings.Trim(path.Clean(p), "/"), "/") {
		if c == "" {
			continue
		}
		if n = n.Child(c); n == nil {
			return nil
		}
	}
	return n
}

// Walk calls fn for every path of the tree (hard links once per name), in
// byte order, the root first as "/".
func (im *Image) Walk(fn func(p string, n *Node)) {
	var walk func(p string, n *Node)
	walk = func(p string, n *Node) {
		fn(p, n)
		for _, name := range n.names {
			walk(path.Join(p, name), n.children[name])
		}
	}
	walk("/", im.Root)
}

// posReader reads an io.ReaderAt sequentially, knowing its position
// (archive/tar seeks over file data through it, so the data is not read).
type posReader struct {
	r    io.ReaderAt
	pos  int64
	size int64
}

func (p *posReader) Read(b []byte) (int, error) {
	if p.pos >= p.size {
		return 0, io.EOF
	}
	if rest := p.size - p.pos; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := p.r.ReadAt(b, p.pos)
	p.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (p *posReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += p.pos
	case io.SeekEnd:
		off += p.size
	default:
		return 0, errors.New("bad whence")
	}
	if off < 0 {
		return 0, errors.New("negative position")
	}
	p.pos = off
	return off, nil
}

// checkName checks a path relative to the root: clean, no "." or ".."
// components, no empty ones, within Linux's limits.
func checkName(k string) error {
	switch {
	case k == "":
		return errors.New("empty name")
	case strings.HasPrefix(k, "/"):
		return errors.New("absolute name")
	case strings.ContainsRune(k, 0):
		return errors.New("NUL byte in the name")
	case len(k) >= pathMax:
		return errors.New("name longer than PATH_MAX")
	}
	for _, c := range strings.Split(k, "/") {
		switch {
		case c == "":
			return errors.New("empty path component")
		case c == "..":
			return errors.New("\"..\" in the name (the path would leave the root)")
		case c == ".":
			return errors.New("\".\" in the name")
		case len(c) > nameMax:
			return errors.New("a component longer than NAME_MAX")
		}
	}
	return nil
}

// Read indexes an image of size bytes read through r; name is used in
// errors only.
func Read(r io.ReaderAt, size int64, name string) (*Image, error) {
	fail := func(entry, format string, args ...any) error {
		return &Error{Image: name, Entry: entry, Reason: fmt.Sprintf(format, args...)}
	}
	pr := &posReader{r: r, size: size}
	tr := tar.NewReader(pr)
	im := &Image{Path: name, Size: size, r: r}

	// The manifest comes first.
	h, err := tr.Next()
	if err != nil {
		if err == io.EOF {
			return nil, fail("", "empty archive: no %s", ManifestName)
		}
		return nil, fail("", "not a valid image (want a tar archive starting with %s): %v", ManifestName, err)
	}
	if h.Name != ManifestName || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA) {
		return nil, fail(h.Name, "the first entry must be the regular file %s", ManifestName)
	}
	if h.Size < 0 || h.Size > maxManifest {
		return nil, fail(h.Name, "manifest of %d bytes (the limit is %d)", h.Size, maxManifest)
	}
	if pr.pos+h.Size > size {
		return nil, fail(h.Name, "truncated: the manifest runs past the end of the file")
	}
	mb := make([]byte, h.Size)
	if _, err := io.ReadFull(tr, mb); err != nil {
		return nil, fail(h.Name, "reading: %v", err)
	}
	if im.Manifest, err = decodeManifest(mb); err != nil {
		return nil, fail(h.Name, "%v", err)
	}

	byPath := map[string]*Node{}
	add := func(n *Node) {
		im.nodes = append(im.nodes, n)
		n.Ino = uint64(len(im.nodes))
	}
	// dataEnd is where the last entry's data and padding end: the end
	// marker must follow.
	dataEnd := roundBlock(pr.pos)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		insecure := errors.Is(err, tar.ErrInsecurePath) && h != nil
		if insecure {
			err = nil // the name checks below say what is wrong with it
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fail("", "truncated: the file ends inside an entry (%v)", err)
			}
			return nil, fail("", "corrupted archive after %d entries: %v", len(im.nodes), err)
		}
		entry := h.Name
		dataEnd = pr.pos
		if (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) && h.Size >= 0 && h.Size <= size {
			dataEnd = roundBlock(pr.pos + h.Size)
		}
		if len(im.nodes) >= MaxEntries {
			return nil, fail(entry, "more than %d entries", MaxEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			return nil, fail(entry, "global PAX headers are not allowed")
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return nil, fail(entry, "sparse files are not allowed")
			}
		}
		if h.Typeflag == tar.TypeGNUSparse {
			return nil, fail(entry, "sparse files are not allowed")
		}
		// Names: rootfs/ itself, or rootfs/<clean relative path>[/].
		clean := strings.TrimSuffix(h.Name, "/")
		var key string
		switch {
		case clean == RootDir:
			key = ""
		case strings.HasPrefix(clean, RootDir+"/"):
			key = strings.TrimPrefix(clean, RootDir+"/")
			if err := checkName(key); err != nil {
				return nil, fail(entry, "%v", err)
			}
		default:
			if e := checkName(clean); e != nil {
				return nil, fail(entry, "%v", e)
			}
			return nil, fail(entry, "outside %s/ (every file of the tree is under it)", RootDir)
		}
		if insecure {
			return nil, fail(entry, "insecure path")
		}
		if _, dup := byPath[key]; dup {
			return nil, fail(entry, "duplicate entry")
		}
		if h.Mode&^0o177777 != 0 || h.Mode < 0 {
			return nil, fail(entry, "bad mode %#o", h.Mode)
		}
		if h.Uid < 0 || h.Uid >= 1<<32-1 || h.Gid < 0 || h.Gid >= 1<<32-1 {
			return nil, fail(entry, "bad owner %d:%d", h.Uid, h.Gid)
		}
		if h.Size < 0 {
			return nil, fail(entry, "negative size")
		}
		n := &Node{Mode: uint32(h.Mode) & 0o7777, UID: uint32(h.Uid), GID: uint32(h.Gid), Mtime: h.ModTime.Unix(), Nlink: 1}
		var parent *Node
		if key == "" {
			if len(byPath) != 0 {
				return nil, fail(entry, "the root must come before the files in it")
			}
			if h.Typeflag != tar.TypeDir {
				return nil, fail(entry, "the root must be a directory")
			}
		} else {
			pk := path.Dir(key)
			if pk == "." {
				pk = ""
			}
			parent = byPath[pk]
			if parent == nil {
				return nil, fail(entry, "its directory is not in the archive before it")
			}
			if !parent.IsDir() {
				return nil, fail(entry, "its parent is not a directory")
			}
			n.Name = path.Base(key)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			n.Mode |= unix.S_IFDIR
			n.Nlink = 2
			n.children = map[string]*Node{}
			if h.Size != 0 {
				return nil, fail(entry, "a directory with data")
			}
		case tar.TypeReg, tar.TypeRegA:
			n.Mode |= unix.S_IFREG
			n.Size, n.Offset = h.Size, pr.pos
			if h.Size > size-pr.pos {
				return nil, fail(entry, "size %d runs past the end of the image (truncated, or a lying header)", h.Size)
			}
			im.DataBytes += h.Size
		case tar.TypeSymlink:
			if h.Linkname == "" || len(h.Linkname) >= pathMax || strings.ContainsRune(h.Linkname, 0) {
				return nil, fail(entry, "bad symlink target")
			}
			n.Mode = unix.S_IFLNK | 0o777
			n.Target, n.Size = h.Linkname, int64(len(h.Linkname))
		case tar.TypeLink:
			lk := strings.TrimPrefix(h.Linkname, RootDir+"/")
			if !strings.HasPrefix(h.Linkname, RootDir+"/") || checkName(lk) != nil {
				return nil, fail(entry, "hard link to %q, outside %s/", h.Linkname, RootDir)
			}
			t := byPath[lk]
			if t == nil || !t.IsRegular() {
				return nil, fail(entry, "hard link to %q, not an earlier regular file", h.Linkname)
			}
			if h.Size != 0 {
				return nil, fail(entry, "a hard link with data")
			}
			t.Nlink++
			byPath[key] = t
			parent.children[path.Base(key)] = t
			im.Entries++
			continue
		case tar.TypeChar, tar.TypeBlock:
			return nil, fail(entry, "device nodes are not allowed")
		case tar.TypeFifo:
			return nil, fail(entry, "FIFOs are not allowed")
		default:
			return nil, fail(entry, "unsupported entry type %q", h.Typeflag)
		}
		add(n)
		byPath[key] = n
		im.Entries++
		if parent == nil {
			n.Parent = n
			im.Root = n
		} else {
			n.Parent = parent
			parent.children[n.Name] = n
			if n.IsDir() {
				parent.Nlink++
			}
		}
	}
	// A tar reader also ends at a bare end of file: insist on the end
	// marker, so an image cut at an entry boundary is caught too.
	if pr.pos < dataEnd+1024 || !zeros(r, dataEnd, 1024) {
		return nil, fail("", "truncated: no end-of-archive marker")
	}
	if im.Root == nil {
		return nil, fail("", "no %s/ directory", RootDir)
	}
	for _, n := range im.nodes {
		if n.IsDir() {
			n.names = make([]string, 0, len(n.children))
			for k := range n.children {
				n.names = append(n.names, k)
			}
			sort.Strings(n.names)
		}
	}
	if e := im.Lookup(im.Manifest.Entry); e == nil || !e.IsRegular() {
		return nil, fail(ManifestName, "entry %s is not a regular file of the tree", im.Manifest.Entry)
	}
	if wd := im.Manifest.Workdir; wd != "" {
		if n := im.Lookup(wd); n != nil && !n.IsDir() && !n.IsSymlink() {
			return nil, fail(ManifestName, "workdir %s is not a directory", wd)
		}
	}
	return im, nil
}

func roundBlock(n int64) int64 { return (n + 511) &^ 511 }

// zeros reports whether r holds n zero bytes at off.
func zeros(r io.ReaderAt, off, n int64) bool {
	if off < 0 {
		return false
	}
	b := make([]byte, n)
	if c, err := r.ReadAt(b, off); int64(c) != n && err != nil {
		return false
	}
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Data returns a regular file's bytes as a reader over the image.
func (im *Image) Data(n *Node) *io.SectionReader {
	return io.NewSectionReader(im.r, n.Offset, n.Size)
}
