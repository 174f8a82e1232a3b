package mm

import "sync"

// Host I/O of a frame's bytes goes through a page of the process's own
// memory, never straight into or out of the frame: inside the guest
// kernel a frame is physmap memory, which the monitor answering the
// kernel's pread or pwrite cannot address (the call fails with EFAULT
// and the page would read as zeros). On the monitor the extra copy is
// 4 KiB against a system call. File systems whose pages come from the
// host (hostfs, imagefs) read and write frames only through these.

var hostPages = sync.Pool{New: func() any { return new([PageSize]byte) }}

// ReadFrame fills dst, at most a page (a frame's bytes, Frames.Bytes),
// with what read puts in a buffer of the process's own, and zeroes dst
// past the count read returned. It returns that count (a negative one
// counts as 0) and read's error.
func ReadFrame(dst []byte, read func(p []byte) (int, error)) (int, error) {
	buf := hostPages.Get().(*[PageSize]byte)
	defer hostPages.Put(buf)
	n, err := read(buf[:min(len(dst), PageSize)])
	n = max(n, 0)
	copy(dst, buf[:n])
	clear(dst[n:])
	return n, err
}

// WriteFrame hands write a copy, in the process's own memory, of src (at
// most a page of a frame's bytes) and returns what write returns.
func WriteFrame(src []byte, write func(p []byte) (int, error)) (int, error) {
	buf := hostPages.Get().(*[PageSize]byte)
	defer hostPages.Put(buf)
	n := copy(buf[:], src)
	return write(buf[:n])
}
