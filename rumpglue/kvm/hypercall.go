package kvm

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/boot"
	"golang.org/x/sys/unix"
)

// hypercall answers a hypercall of the guest kernel (boot/hypercall.go),
// a SYSCALL it made at CPL 0 with a hypercall's number in RAX; it reports
// whether RAX held one. The thread resumes after the SYSCALL, RAX the
// result.
func (c *cpu) hypercall() bool {
	r := c.Regs()
	if !c.m.M.Supervisor() || r.RAX != boot.HypercallInvalidate {
		return false
	}
	r.RAX = uint64(-int64(c.invalidate(r.RDI, r.RSI)))
	r.RIP, r.RFLAGS = r.RCX, r.R11
	c.v.MarkRegsDirty()
	return true
}

// invalidate serves HypercallInvalidate: every address is guest input,
// checked to be a frame of RAM before anything is done.
func (c *cpu) invalidate(list, n uint64) unix.Errno {
	mem := c.m.M.Mem
	isFrame := func(pa uint64) bool { return pa%boot.PageSize == 0 && pa < mem.Size() }
	if n > boot.HypercallInvalidateMax || !isFrame(list) {
		return unix.EINVAL
	}
	raw := mem.Bytes(list, n*8)
	frames := make([]uint64, n)
	for i := range frames {
		frames[i] = binary.LittleEndian.Uint64(raw[i*8:])
		if !isFrame(frames[i]) {
			return unix.EINVAL
		}
	}
	mem.Invalidate(frames)
	return 0
}
