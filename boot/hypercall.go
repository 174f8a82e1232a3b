package boot

// The hypercalls: what the guest kernel (docs/design/guest-kernel.md) asks
// of the monitor beyond the Linux system calls its own Go runtime makes.
// A hypercall is a SYSCALL made at CPL 0 with RAX = its number, which no
// Linux call uses; it reaches the monitor through the stub's exit path like
// any call of the kernel, arguments in RDI, RSI, RDX, and returns 0 or
// -errno in RAX. The monitor checks every argument as hostile input.
//
// This is the whole interface between the guest kernel and the monitor, with
// the mailbox words the kernel keeps (Mailbox*) and kernel.Params: the
// rest is Linux's system call ABI.
const (
	// HypercallInvalidate makes the vCPUs forget every translation of the
	// frames listed (Memory.Invalidate), after the kernel removed or
	// narrowed mappings of them in a user page table: KVM's shadow page
	// tables do not see the kernel's writes to its own tables. RDI is the
	// guest-physical address of a page-aligned array of RSI frame
	// addresses, at most HypercallInvalidateMax.
	HypercallInvalidate = 0x7275_6d70 // "rump"

	HypercallInvalidateMax = PageSize / 8
)
