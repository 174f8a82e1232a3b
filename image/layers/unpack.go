package layers

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rumpgo/rumpgo/launch"
	"golang.org/x/sys/unix"
)

// Whiteout names of the OCI image spec (and Docker's AUFS-era layers).
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Tree is an image's file system unpacked into a host directory.
type Tree struct {
	// Dir is the host directory holding the guest's "/".
	Dir string
	// Modes are the permission bits the layers gave each path (by its
	// guest path, symlinks resolved): on the host, directories stay
	// writable and files readable for whoever unpacks, so that a later
	// layer can change them and the image builder can read them.
	Modes map[string]fs.FileMode
	// Skipped counts entries an image cannot hold (device nodes, FIFOs).
	Skipped []string
	// keepDirLinks applies a directory entry over a symlink to a
	// directory through the symlink, as dpkg does (Debian's merged /usr:
	// a package's ./lib/ entry keeps /lib -> usr/lib); a container layer's
	// directory replaces the symlink, as Docker's unpacking does.
	keepDirLinks bool
}

// Unpack applies the image's layers in order to the empty or new
// directory dir.
func (im *Image) Unpack(dir string) (*Tree, error) {
	t, err := NewTree(dir)
	if err != nil {
		return nil, err
	}
	for i, l := range im.layers {
		// Pass 1: the whiteouts, which apply to the layers below only.
		if err := im.eachEntry(l, func(h *tar.Header, _ io.Reader) error { return t.whiteout(h) }); err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(im.layers), err)
		}
		// Pass 2: the layer's own entries.
		if err := im.eachEntry(l, t.apply); err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(im.layers), err)
		}
	}
	return t, nil
}

// NewTree makes an empty tree in the new or empty directory dir.
func NewTree(dir string) (*Tree, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	return &Tree{Dir: real, Modes: map[string]fs.FileMode{}}, nil
}

// Extract applies one tar stream with no whiteouts — a Debian package's
// data — to the tree as dpkg unpacks it: as a layer's entries are
// applied, except that a directory entry leaves a symlink to a directory
// in its place.
func (t *Tree) Extract(r io.Reader) error {
	t.keepDirLinks = true
	defer func() { t.keepDirLinks = false }()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		h.Name = cleanName(h.Name)
		if err := t.apply(h, tr); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// eachEntry calls fn for each entry of the layer with a name in the
// guest's terms ("a/b", "" for the root), then checks its digests.
func (im *Image) eachEntry(l layer, fn func(h *tar.Header, r io.Reader) error) error {
	stream, verify, err := im.openLayer(l)
	if err != nil {
		return err
	}
	tr := tar.NewReader(stream)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			verify()
			return fmt.Errorf("%s: %v", l.name, err)
		}
		h.Name = cleanName(h.Name)
		if err := fn(h, tr); err != nil {
			verify()
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return verify()
}

// cleanName takes a layer's entry name inside the root: "./a/../b/" is
// "b"; nothing can climb above "/".
func cleanName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

// host returns the host path of the guest directory d (created, 0755,
// where missing), its symlinks resolved inside the tree.
func (t *Tree) hostDir(d string) (string, error) {
	if d == "" || d == "." {
		return t.Dir, nil
	}
	h, err := launch.HostPathIn(t.Dir, d)
	if err == nil {
		fi, err := os.Stat(h)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("/%s is not a directory", d)
		}
		return h, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return "", err
	}
	parent, err := t.hostDir(path.Dir(d))
	if err != nil {
		return "", err
	}
	p := filepath.Join(parent, path.Base(d))
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	// A dangling symlink in the way resolves to nothing creatable.
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("/%s: a dangling symlink where a directory is needed", d)
	}
	return p, nil
}

// guest is the guest path of a host path inside the tree.
func (t *Tree) guest(h string) string {
	rel, err := filepath.Rel(t.Dir, h)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + filepath.ToSlash(rel)
}

func (t *Tree) whiteout(h *tar.Header) error {
	base := path.Base(h.Name)
	if !strings.HasPrefix(base, whiteoutPrefix) {
		return nil
	}
	dir := path.Dir(h.Name)
	if dir == "." {
		dir = ""
	}
	hd, err := launch.HostPathIn(t.Dir, dir)
	if err != nil {
		return nil // nothing below to hide
	}
	if base == opaqueMarker {
		ents, err := os.ReadDir(hd)
		if err != nil {
			return nil
		}
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(hd, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("bad whiteout %q", base)
	}
	return os.RemoveAll(filepath.Join(hd, name))
}

func (t *Tree) apply(h *tar.Header, r io.Reader) error {
	if strings.HasPrefix(path.Base(h.Name), whiteoutPrefix) {
		return nil
	}
	mode := h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if h.Name == "" {
		if h.Typeflag == tar.TypeDir {
			t.Modes["/"] = mode
		}
		return nil
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		t.Skipped = append(t.Skipped, "/"+h.Name)
		return nil
	default:
		return nil // PAX and GNU metadata entries: archive/tar already folded them in
	}
	parent, err := t.hostDir(path.Dir(h.Name))
	if err != nil {
		return err
	}
	p := filepath.Join(parent, path.Base(h.Name))
	old, err := os.Lstat(p)
	exists := err == nil
	if h.Typeflag == tar.TypeDir && exists {
		if old.IsDir() {
			t.Modes[t.guest(p)] = mode
			return nil
		}
		if t.keepDirLinks && old.Mode()&fs.ModeSymlink != 0 {
			// Resolved inside the tree: an absolute target is the guest's.
			if hp, err := launch.HostPathIn(t.Dir, h.Name); err == nil {
				if fi, err := os.Stat(hp); err == nil && fi.IsDir() {
					return nil // the symlink's target keeps its own mode
				}
			}
		}
	}
	if exists {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if err == nil {
			// The execute bits on the host too, so that finding the
			// entry program in the tree sees them; always readable and
			// writable by whoever unpacks, setuid bits only in Modes.
			err = f.Chmod(mode.Perm() | 0o600)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if h.Linkname == "" || strings.ContainsRune(h.Linkname, 0) {
			return fmt.Errorf("bad symlink target %q", h.Linkname)
		}
		return os.Symlink(h.Linkname, p)
	case tar.TypeLink:
		target := cleanName(h.Linkname)
		td, err := launch.HostPathIn(t.Dir, path.Dir(target))
		if err != nil {
			return fmt.Errorf("hard link to %s: %v", h.Linkname, err)
		}
		tp := filepath.Join(td, path.Base(target))
		fi, err := os.Lstat(tp)
		if err != nil {
			return fmt.Errorf("hard link to %s: %v", h.Linkname, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("hard link to the directory %s", h.Linkname)
		}
		if err := os.Link(tp, p); err != nil {
			return err
		}
		if m, ok := t.Modes[t.guest(tp)]; ok {
			t.Modes[t.guest(p)] = m // one inode, one mode
		}
		return nil
	}
	t.Modes[t.guest(p)] = mode
	return nil
}
