package launch

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// loadInterp loads a dynamic program's interpreter (PT_INTERP, ld.so) from
// the guest's file system, as Linux's load_elf_binary does with
// load_elf_interp: the interpreter is read through the VFS (so it comes
// from the image, or from what libs.go copied into the root), its whole
// extent is placed where mmap would put it (top-down below the mmap base,
// under the vDSO), and its entry is where the guest starts. It returns
// nil for a static program. ld.so then finds the program through AT_PHDR
// and AT_ENTRY and maps the libraries itself, through file-backed mmap.
//
// A missing or unusable interpreter is an *boot.ExecError naming both the
// program and the interpreter, as the shell's "cannot execute: required
// file not found" does.
func loadInterp(fs *syscalls.FS, g *posix.ThreadGroup, as *mm.AddressSpace, exe *boot.ELF) (*boot.Loaded, *boot.ELF, error) {
	if exe.Interp == "" {
		return nil, nil, nil
	}
	fail := func(format string, args ...any) error {
		return &interpError{&boot.ExecError{Path: exe.Path, Reason: "interpreter " + exe.Interp + ": " + fmt.Sprintf(format, args...)}, unix.ELIBBAD}
	}
	if fs == nil {
		return nil, nil, fail("the guest has no file system to load it from")
	}
	ctx := vfs.RootContext()
	f, e := fs.VFS.Open(ctx, fs.Context(g), vfs.Path{}, exe.Interp, vfs.OpenHow{Flags: unix.O_RDONLY})
	switch e {
	case 0:
	case unix.ENOENT, unix.ENOTDIR:
		err := fail("no such file in the guest's root (a dynamic program needs its ld.so and libraries there)")
		err.(*interpError).errno = unix.ENOENT
		return nil, nil, err
	default:
		return nil, nil, fail("%v", e)
	}
	defer f.Close()
	vf, ok := f.(*vfs.File)
	if !ok {
		return nil, nil, fail("not a regular file")
	}
	st, e := fs.VFS.Stat(ctx, vf.Path())
	switch {
	case e != 0:
		return nil, nil, fail("%v", e)
	case vfs.IsDir(st.Mode):
		return nil, nil, fail("is a directory")
	case vfs.FileType(st.Mode) != vfs.S_IFREG:
		return nil, nil, fail("not a regular file")
	}
	ie, err := boot.ReadELFAt(exe.Interp, guestReader{vf}, st.Size)
	var xe *boot.ExecError
	switch {
	case errors.As(err, &xe):
		return nil, nil, fail("%s", xe.Reason)
	case err != nil:
		return nil, nil, fail("%v", err)
	case ie.Interp != "":
		// Linux would load it and let it fail; no ld.so names another.
		return nil, nil, fail("it names an interpreter itself (%s)", ie.Interp)
	}

	// Reserve the whole extent where mmap chooses, then load into it:
	// the segments keep their relative places (Linux's total_mapping_size).
	lo, hi := ie.Extent()
	var bias uint64
	if ie.PIE {
		at, e := as.Mmap(0, hi-lo, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if e != 0 {
			return nil, nil, fail("no room for %#x bytes: %v", hi-lo, e)
		}
		if e := as.Munmap(at, hi-lo); e != 0 {
			return nil, nil, fail("%v", e)
		}
		bias = at - lo
	}
	l, err := ie.LoadAt(loaderSpace{as}, bias)
	if err != nil {
		return nil, nil, fail("%v", err)
	}
	return l, ie, nil
}

// interpError is a failure to load the interpreter, with the errno execve
// answers for it: ENOENT when it is missing, ELIBBAD when it is unusable.
type interpError struct {
	*boot.ExecError
	errno unix.Errno
}

func (e *interpError) Unwrap() error { return e.ExecError }

// guestReader reads a guest file at offsets, for the ELF reader.
type guestReader struct{ f *vfs.File }

func (r guestReader) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, e := r.f.Pread(vfs.RootContext(), p[done:], off+int64(done))
		if e != 0 {
			return done, e
		}
		if n == 0 {
			return done, errors.New("unexpected end of file")
		}
		done += n
	}
	return done, nil
}

// loadedImages describes the program and its interpreter for crash
// reports. A bare program is also a host file (and setupFS copied it into
// the guest at its absolute path); an image's is only in the guest.
func loadedImages(cfg Config, exe *boot.ELF, l *boot.Loaded, ie *boot.ELF, il *boot.Loaded) []syscalls.Image {
	out := []syscalls.Image{loadedImage(exe, l)}
	if cfg.Image == nil {
		if abs, err := filepath.Abs(cfg.Path); err == nil {
			out[0].Path, out[0].HostPath = abs, abs
		}
	} else {
		out[0].Path = cfg.Path
	}
	if ie != nil {
		out = append(out, loadedImage(ie, il))
	}
	return out
}

// loadedImage describes one loaded ELF for crash reports.
func loadedImage(e *boot.ELF, l *boot.Loaded) syscalls.Image {
	lo, hi := e.Extent()
	return syscalls.Image{Path: e.Path, Bias: l.Base, Lo: lo + l.Base, Hi: hi + l.Base}
}
