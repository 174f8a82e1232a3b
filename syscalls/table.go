package syscalls

import (
	"strconv"

	"golang.org/x/sys/unix"
)

//go:generate ./gen_names.sh

// Args are the six syscall argument registers: RDI, RSI, RDX, R10, R8, R9.
type Args [6]uint64

// Int returns argument i as a C int.
func (a Args) Int(i int) int { return int(int32(a[i])) }

// Support says how far an entry implements its call.
type Support int

const (
	Supported Support = iota
	Partial           // works for what programs use; the note says what is missing
	Error             // deliberately answers an errno (the note says why), like Linux configs without the feature
)

type handler func(t *Thread, a Args) (uint64, unix.Errno)

// Entry is one row of the table.
type Entry struct {
	Name    string
	Support Support
	Note    string
	fn      handler
	args    []argKind // for --strace
	ret     retKind
}

// maxSyscall bounds the table; x86-64 numbers are below 512 (x32 uses the
// 512+ range and bit 30, which we reject).
const maxSyscall = 512

var table [maxSyscall]*Entry

func register(nr uintptr, e Entry) {
	if table[nr] != nil {
		panic("syscall registered twice: " + e.Name)
	}
	table[nr] = &e
}

// Lookup returns the entry for nr, or nil.
func Lookup(nr uint64) *Entry {
	if nr >= maxSyscall {
		return nil
	}
	return table[nr]
}

// Table returns every registered entry by number, for the compatibility
// table in the docs.
func Table() map[int]*Entry {
	m := map[int]*Entry{}
	for nr, e := range table {
		if e != nil {
			m[nr] = e
		}
	}
	return m
}

// Name returns the Linux name of nr, registered or not.
func Name(nr uint64) string {
	if e := Lookup(nr); e != nil {
		return e.Name
	}
	if n, ok := linuxNames[nr]; ok {
		return n
	}
	return "syscall_" + strconv.FormatUint(nr, 10)
}
