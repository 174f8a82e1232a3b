package boot

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Aux is one auxiliary vector entry.
type Aux struct{ Type, Val uint64 }

// StackArgs is what goes on a new process's initial stack.
type StackArgs struct {
	Argv, Envv []string
	ExecFn     string   // AT_EXECFN string
	Platform   string   // AT_PLATFORM string ("x86_64"); "" leaves AT_PLATFORM out, as Linux does without one
	Random     [16]byte // AT_RANDOM bytes
	// Auxv is everything except AT_RANDOM, AT_EXECFN, AT_PLATFORM and
	// AT_NULL, which BuildStack adds itself because they point into the stack.
	Auxv []Aux
}

// BuildStack lays out the initial process stack ending at top (exclusive) as
// Linux's execve and create_elf_tables do, without randomization. From the top
// down: a zero word, the strings (argv, then envp, then execfn highest),
// alignment, the platform string, the 16 random bytes, then, from the 16-byte
// aligned sp up: argc, argv and envp each NULL-terminated, and the auxv ending
// in AT_NULL. It returns sp and the bytes that belong at [sp, top).
//
// A stack bigger than maxSize fails with an error wrapping unix.E2BIG, as
// Linux does past a quarter of RLIMIT_STACK.
func BuildStack(top uint64, a StackArgs, maxSize uint64) (sp uint64, data []byte, err error) {
	for _, x := range a.Auxv {
		switch x.Type {
		case AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM:
			return 0, nil, fmt.Errorf("auxv type %d is added by BuildStack", x.Type)
		}
	}
	strs := slices.Concat(a.Argv, a.Envv, []string{a.ExecFn})
	var strLen uint64
	for _, s := range strs {
		strLen += uint64(len(s)) + 1
	}
	// C strings cannot carry a NUL; execve would cut the string short.
	for _, s := range append(strs, a.Platform) {
		if strings.IndexByte(s, 0) >= 0 {
			return 0, nil, fmt.Errorf("string %.40q contains a NUL byte", s)
		}
	}
	nAux := uint64(len(a.Auxv)) + 3 // AT_RANDOM, AT_EXECFN, AT_NULL
	platLen := uint64(0)
	if a.Platform != "" {
		nAux++
		platLen = uint64(len(a.Platform)) + 1
	}
	nWords := uint64(len(a.Argv)+1+len(a.Envv)+1+1) + 2*nAux

	// The most the layout can take, with both alignments at their worst;
	// checked first so the arithmetic below cannot wrap.
	if most := 8 + strLen + 15 + platLen + 16 + 8*nWords + 15; most > top {
		return 0, nil, fmt.Errorf("initial stack of up to %d bytes does not fit below %#x: %w", most, top, unix.E2BIG)
	}
	strAt := top - 8 - strLen
	platAt := strAt&^15 - platLen
	randAt := platAt - 16
	sp = (randAt - 8*nWords) &^ 15
	if top-sp > maxSize {
		return 0, nil, fmt.Errorf("initial stack needs %d bytes, more than the %d allowed: %w", top-sp, maxSize, unix.E2BIG)
	}

	data = make([]byte, top-sp)
	w := sp // the next word to write
	word := func(v uint64) {
		binary.LittleEndian.PutUint64(data[w-sp:], v)
		w += 8
	}
	str := func(s string) uint64 {
		at := strAt
		strAt += uint64(copy(data[at-sp:], s)) + 1
		return at
	}
	word(uint64(len(a.Argv)))
	for _, s := range a.Argv {
		word(str(s))
	}
	word(0)
	for _, s := range a.Envv {
		word(str(s))
	}
	word(0)
	execFn := str(a.ExecFn)
	copy(data[randAt-sp:], a.Random[:])
	auxv := slices.Concat(a.Auxv, []Aux{{AT_RANDOM, randAt}, {AT_EXECFN, execFn}})
	if a.Platform != "" {
		copy(data[platAt-sp:], a.Platform)
		auxv = append(auxv, Aux{AT_PLATFORM, platAt})
	}
	for _, x := range append(auxv, Aux{AT_NULL, 0}) {
		word(x.Type)
		word(x.Val)
	}
	return sp, data, nil
}
