package launch

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix/fs/hostfs"
	"github.com/rumpgo/rumpgo/posix/fs/imagefs"
	"github.com/rumpgo/rumpgo/posix/fs/overlay"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Images and volumes: what Config.Image and Config.Volumes add to the
// guest's namespace (fs.go builds it).

// rootThrough reports whether the guest writes into RootDir itself
// (Config.RootWritable).
func (cfg *Config) rootThrough() bool {
	return cfg.RootDir != "" && cfg.RootWritable && !cfg.RootReadOnly
}

// volumeAt reports whether a volume is mounted at path.
func volumeAt(vols []Volume, path string) bool {
	for _, v := range vols {
		if v.Guest == path {
			return true
		}
	}
	return false
}

// Volume is one -v HOST:GUEST[:ro].
type Volume struct {
	Host, Guest string
	ReadOnly    bool
}

// ParseVolume reads a -v value: HOST:GUEST, with :ro (read-only) or :rw
// after it. HOST must be an existing directory; GUEST an absolute path
// other than /.
func ParseVolume(s string) (Volume, error) {
	parts := strings.Split(s, ":")
	var v Volume
	switch {
	case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
		v.ReadOnly = parts[2] == "ro"
	case len(parts) != 2:
		return v, fmt.Errorf("-v %s: want HOST:GUEST[:ro]", s)
	}
	v.Host, v.Guest = parts[0], parts[1]
	if v.Host == "" {
		return v, fmt.Errorf("-v %s: empty host directory", s)
	}
	if !strings.HasPrefix(v.Guest, "/") || path.Clean(v.Guest) == "/" {
		return v, fmt.Errorf("-v %s: the guest path must be absolute, and not /", s)
	}
	v.Guest = path.Clean(v.Guest)
	fi, err := os.Stat(v.Host)
	if err != nil {
		return v, fmt.Errorf("-v %s: %w", s, err)
	}
	if !fi.IsDir() {
		return v, fmt.Errorf("-v %s: %s is not a directory", s, v.Host)
	}
	return v, nil
}

func (v Volume) String() string {
	s := v.Host + ":" + v.Guest
	if v.ReadOnly {
		s += ":ro"
	}
	return s
}

// rootFS is the root file system: the image under a tmpfs layer of size
// bytes (tmpfsSize), or such a tmpfs; with its /proc/mounts source and
// options.
func rootFS(cfg Config, size int64, frames mm.Frames) (vfs.FileSystem, string, int, string, error) {
	upper := tmpfs.New(tmpfs.Options{Mode: 0o755, Size: size, Frames: frames})
	opts := sizeOption(size) // fs.go
	if cfg.rootThrough() {
		root, err := hostfs.New(cfg.RootDir, hostfs.Options{Owners: true})
		if err != nil {
			return nil, "", 0, "", fmt.Errorf("root %s: %w", cfg.RootDir, err)
		}
		return root, cfg.RootDir, 0, "", nil
	}
	if cfg.RootDir != "" {
		lower, err := hostfs.New(cfg.RootDir, hostfs.Options{ReadOnly: true})
		if err != nil {
			return nil, "", 0, "", fmt.Errorf("root %s: %w", cfg.RootDir, err)
		}
		return overlay.New(upper, lower), "overlay", 0, "lowerdir=" + cfg.RootDir + ",upperdir=tmpfs," + opts, nil
	}
	if cfg.Image == nil {
		return upper, "rootfs", 0, opts, nil
	}
	return overlay.New(upper, imagefs.New(cfg.Image)), "overlay", 0, "lowerdir=" + cfg.Image.Path + ",upperdir=tmpfs," + opts, nil
}

// mountVolumes mounts each volume, parents before children, making the
// guest directories (or for a file's volume, an empty file) as needed.
func mountVolumes(v *vfs.VFS, vols []Volume, mkdirAll func(string, uint32) error, writeFile func(string, []byte, uint32) error) error {
	vols = append([]Volume(nil), vols...)
	sort.SliceStable(vols, func(i, j int) bool { return strings.Count(vols[i].Guest, "/") < strings.Count(vols[j].Guest, "/") })
	for _, vol := range vols {
		// What the guest makes on a volume is its maker's, as a program's
		// files are on a bind mount natively (PostgreSQL checks that its
		// data directory is its own); a rumpgo that is not root leaves
		// the host's ownership.
		fs, err := hostfs.New(vol.Host, hostfs.Options{ReadOnly: vol.ReadOnly, Owners: true})
		if err != nil {
			return err
		}
		st, _ := fs.Root().Stat(nil)
		if vfs.IsDir(st.Mode) {
			err = mkdirAll(vol.Guest, 0o755)
		} else if _, e := v.Lookup(vfs.RootContext(), vfs.NewFSContext(v.Root()), vfs.Path{}, vol.Guest, vfs.LookupFollow); e == unix.ENOENT {
			err = writeFile(vol.Guest, nil, 0o644)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %v", vol, err)
		}
		flags := vfs.MS_NOSUID | vfs.MS_NODEV
		if vol.ReadOnly {
			flags |= vfs.MS_RDONLY
		}
		if _, e := v.MountPath(vol.Guest, fs, vol.Host, flags, ""); e != 0 {
			return fmt.Errorf("volume %s: mounting: %v", vol, e)
		}
	}
	return nil
}

// readExe reads the program: cfg.Path on the host, or for an image its
// entry, through a memfd so the ELF reader sees a file.
func readExe(cfg Config) (*boot.ELF, error) {
	if cfg.RootDir != "" {
		return readRootExe(cfg)
	}
	if cfg.Image == nil {
		return boot.ReadELF(cfg.Path)
	}
	n := cfg.Image.Lookup(cfg.Path)
	if n == nil || !n.IsRegular() {
		return nil, &boot.ExecError{Path: cfg.Path, Reason: "not a regular file of image " + cfg.Image.Path}
	}
	fd, err := unix.MemfdCreate("rumpgo-entry", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "entry")
	defer f.Close()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < n.Size; {
		c, err := cfg.Image.ReadAt(n, buf, off)
		if c == 0 && err != nil {
			return nil, fmt.Errorf("image %s: reading %s: %v", cfg.Image.Path, cfg.Path, err)
		}
		if _, err := f.WriteAt(buf[:c], off); err != nil {
			return nil, err
		}
		off += int64(c)
	}
	exe, err := boot.ReadELF("/proc/self/fd/" + strconv.Itoa(fd))
	var ee *boot.ExecError
	if errors.As(err, &ee) {
		ee.Path = cfg.Path + " (in " + cfg.Image.Path + ")"
	}
	if exe != nil {
		exe.Path = cfg.Path
	}
	return exe, err
}

// readRootExe reads the program at path in the host directory root, the
// guest's root: symlinks and ".." resolve inside root, as the guest sees
// them (openat2's RESOLVE_IN_ROOT).
func readRootExe(cfg Config) (*boot.ELF, error) {
	path := cfg.Path
	f, err := OpenRootFile(&cfg, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	exe, err := boot.ReadELF("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	var ee *boot.ExecError
	if errors.As(err, &ee) {
		ee.Path = path
	}
	if exe != nil {
		exe.Path = path
	}
	return exe, err
}

// OpenRootFile opens, on the host, the file the guest of a RootDir run
// will see at the absolute path name: in the volume mounted deepest
// above it (a file's volume is the file itself), else in RootDir, with
// symlinks and ".." kept inside that directory (RESOLVE_IN_ROOT) — what
// a program found before boot (an OCI process, Docker's --init binary)
// must be read through.
func OpenRootFile(cfg *Config, name string) (*os.File, error) {
	dir, rel := cfg.RootDir, name
	best := -1
	for _, v := range cfg.Volumes {
		g := path.Clean(v.Guest)
		switch {
		case name == g:
		case strings.HasPrefix(name, g+"/") || g == "/":
		default:
			continue
		}
		if len(g) > best {
			best, dir, rel = len(g), v.Host, strings.TrimPrefix(name, g)
		}
	}
	if rel == "" {
		// The volume's root itself, a file's volume included.
		f, err := os.Open(dir)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: errors.Unwrap(err)}
		}
		return f, nil
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}
