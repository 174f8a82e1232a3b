package posix

import (
	"golang.org/x/sys/unix"
)

// HostFile is a host file descriptor handed to the guest as is: the
// terminal or pipes rumpgo's own stdin, stdout and stderr are.
type HostFile struct {
	FD    int
	flags int
}

// NewHostFile wraps a host fd; the guest's status flags come from the host's.
func NewHostFile(fd int) *HostFile {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		fl = unix.O_RDWR
	}
	return &HostFile{FD: fd, flags: fl}
}

func (h *HostFile) Read(p []byte) (int, unix.Errno) {
	for {
		n, err := unix.Read(h.FD, p)
		if err == unix.EINTR {
			continue // our own kicks and runtime signals, not the guest's
		}
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return n, 0
	}
}

func (h *HostFile) Write(p []byte) (int, unix.Errno) {
	total := 0
	for len(p) > 0 {
		n, err := unix.Write(h.FD, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				return total, 0
			}
			return 0, err.(unix.Errno)
		}
		total += n
		p = p[n:]
	}
	return total, 0
}

// Close leaves the host's descriptor alone: rumpgo still needs it.
func (h *HostFile) Close() unix.Errno { return 0 }

func (h *HostFile) Flags() int { return h.flags }
