package boot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// stackTestParsed is an initial stack read back the way a C runtime does.
type stackTestParsed struct {
	argv, envv []string
	argvAt     []uint64 // where each string is
	envvAt     []uint64
	auxv       []Aux
	auxvEnd    uint64 // just past AT_NULL
}

func stackTestParse(t *testing.T, sp, top uint64, data []byte) stackTestParsed {
	t.Helper()
	word := func(a uint64) uint64 {
		require.True(t, a >= sp && a+8 <= top, "word at %#x outside [%#x, %#x)", a, sp, top)
		return binary.LittleEndian.Uint64(data[a-sp:])
	}
	cstr := func(a uint64) string {
		require.True(t, a >= sp && a < top, "string at %#x outside [%#x, %#x)", a, sp, top)
		s, _, ok := bytes.Cut(data[a-sp:], []byte{0})
		require.True(t, ok, "string at %#x not NUL-terminated", a)
		return string(s)
	}
	var p stackTestParsed
	a := sp
	next := func() uint64 { a += 8; return word(a - 8) }
	argc := next()
	for range argc {
		at := next()
		p.argvAt = append(p.argvAt, at)
		p.argv = append(p.argv, cstr(at))
	}
	require.Zero(t, next(), "argv is not NULL-terminated")
	for at := next(); at != 0; at = next() {
		p.envvAt = append(p.envvAt, at)
		p.envv = append(p.envv, cstr(at))
	}
	for {
		x := Aux{next(), next()}
		p.auxv = append(p.auxv, x)
		if x.Type == AT_NULL {
			break
		}
	}
	p.auxvEnd = a
	return p
}

func TestBuildStack(t *testing.T) {
	random := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	const top = 0x7fff_ffff_f000
	long := strings.Repeat("x", 100)
	cases := []struct {
		name    string
		top     uint64
		args    StackArgs
		maxSize uint64
	}{
		{"typical", top, StackArgs{
			Argv:     []string{"/bin/app", "-v", "two words", ""},
			Envv:     []string{"HOME=/", "PATH=/bin:/usr/bin"},
			ExecFn:   "/bin/app",
			Platform: "x86_64",
			Random:   random,
			Auxv:     []Aux{{AT_PAGESZ, 4096}, {AT_PHDR, 0x400040}, {AT_PHNUM, 7}, {AT_UID, 1000}, {AT_SECURE, 0}},
		}, 1 << 20},
		{"nothing", top, StackArgs{}, 1 << 20},
		{"no platform", top, StackArgs{Argv: []string{"a"}, ExecFn: "a", Random: random}, 1 << 20},
		{"unaligned top", 0x7ffd_1234_5677, StackArgs{Argv: []string{"prog"}, Envv: []string{"A=1"}, ExecFn: "prog", Platform: "x86_64", Random: random}, 1 << 20},
		{"many", top, StackArgs{Argv: slices.Repeat([]string{long}, 1000), Envv: slices.Repeat([]string{"K=" + long}, 1000), ExecFn: "/p", Platform: "x86_64"}, 8 << 20 / 4},
	}
	// Every string length modulo 16, to walk each alignment path.
	for n := range 17 {
		cases = append(cases, struct {
			name    string
			top     uint64
			args    StackArgs
			maxSize uint64
		}{"length " + strings.Repeat("+", n), top, StackArgs{Argv: []string{strings.Repeat("a", n)}, Envv: []string{strings.Repeat("b", n/2)}, ExecFn: "/e", Platform: strings.Repeat("p", n%7), Random: random}, 4096})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.args
			sp, data, err := BuildStack(c.top, a, c.maxSize)
			require.NoError(t, err)
			require.Zero(t, sp%16, "sp %#x is not 16-byte aligned", sp)
			require.Equal(t, c.top-sp, uint64(len(data)))
			require.LessOrEqual(t, uint64(len(data)), c.maxSize)

			p := stackTestParse(t, sp, c.top, data)
			require.Equal(t, len(a.Argv), len(p.argv))
			require.Equal(t, len(a.Envv), len(p.envv))
			if len(a.Argv) > 0 {
				require.Equal(t, a.Argv, p.argv)
			}
			if len(a.Envv) > 0 {
				require.Equal(t, a.Envv, p.envv)
			}

			// The caller's entries come through in order, each of ours once,
			// AT_NULL last.
			require.Equal(t, Aux{AT_NULL, 0}, p.auxv[len(p.auxv)-1])
			var theirs []Aux
			ours := map[uint64]uint64{}
			for _, x := range p.auxv[:len(p.auxv)-1] {
				switch x.Type {
				case AT_RANDOM, AT_EXECFN, AT_PLATFORM:
					require.NotContains(t, ours, x.Type)
					ours[x.Type] = x.Val
				default:
					theirs = append(theirs, x)
				}
			}
			require.Equal(t, len(a.Auxv), len(theirs))
			if len(a.Auxv) > 0 {
				require.Equal(t, a.Auxv, theirs)
			}
			randAt := ours[AT_RANDOM]
			require.GreaterOrEqual(t, randAt, p.auxvEnd)
			require.Equal(t, a.Random[:], data[randAt-sp:randAt-sp+16])
			execAt := ours[AT_EXECFN]
			require.Equal(t, a.ExecFn, string(data[execAt-sp:execAt-sp+uint64(len(a.ExecFn))]))
			if a.Platform == "" {
				require.NotContains(t, ours, uint64(AT_PLATFORM))
			} else {
				platAt := ours[AT_PLATFORM]
				require.Equal(t, a.Platform+"\x00", string(data[platAt-sp:platAt-sp+uint64(len(a.Platform))+1]))
				require.Equal(t, platAt, randAt+16, "random bytes sit right below the platform string")
			}

			// Linux's layout above the tables: argv strings, envp strings and
			// execfn packed in that order, ending one zero word below top.
			require.Equal(t, make([]byte, 8), data[len(data)-8:])
			require.Equal(t, c.top-8, execAt+uint64(len(a.ExecFn))+1)
			at := slices.Concat(p.argvAt, p.envvAt, []uint64{execAt})
			strs := slices.Concat(a.Argv, a.Envv)
			for i, s := range strs {
				require.Equal(t, at[i]+uint64(len(s))+1, at[i+1], "string %d is not packed", i)
			}
			require.Greater(t, at[0], randAt+15, "strings overlap the random bytes")
			platLen := uint64(len(a.Platform) + 1)
			if a.Platform == "" {
				platLen = 0
			}
			require.Equal(t, platLen+16, at[0]&^15-randAt, "the platform string and random bytes sit right below the aligned strings")
			require.Less(t, randAt-p.auxvEnd, uint64(16), "gap above the auxv")
		})
	}
}

func TestBuildStackErrors(t *testing.T) {
	const top = 0x7fff_ffff_f000
	cases := []struct {
		name    string
		top     uint64
		args    StackArgs
		maxSize uint64
		e2big   bool
		msg     string
	}{
		{"over the limit", top, StackArgs{Argv: []string{strings.Repeat("x", 2000)}}, 1024, true, "more than the 1024 allowed"},
		{"many small", top, StackArgs{Envv: slices.Repeat([]string{""}, 1<<16)}, 1 << 19, true, "allowed"},
		{"top too low", 64, StackArgs{Argv: []string{"prog"}}, 1 << 20, true, "does not fit below 0x40"},
		{"NUL in argv", top, StackArgs{Argv: []string{"a\x00b"}}, 1 << 20, false, "NUL"},
		{"NUL in envp", top, StackArgs{Envv: []string{"A=\x00"}}, 1 << 20, false, "NUL"},
		{"AT_RANDOM given", top, StackArgs{Auxv: []Aux{{AT_RANDOM, 1}}}, 1 << 20, false, "added by BuildStack"},
		{"AT_NULL given", top, StackArgs{Auxv: []Aux{{AT_PAGESZ, 4096}, {AT_NULL, 0}}}, 1 << 20, false, "added by BuildStack"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, data, err := BuildStack(c.top, c.args, c.maxSize)
			require.ErrorContains(t, err, c.msg)
			require.Equal(t, c.e2big, errors.Is(err, unix.E2BIG))
			require.Zero(t, sp)
			require.Nil(t, data)
		})
	}

	t.Run("limit is exact", func(t *testing.T) {
		args := StackArgs{Argv: []string{"prog", "arg"}, Envv: []string{"A=1"}, ExecFn: "prog", Platform: "x86_64"}
		_, data, err := BuildStack(top, args, 1<<20)
		require.NoError(t, err)
		_, _, err = BuildStack(top, args, uint64(len(data)))
		require.NoError(t, err)
		_, _, err = BuildStack(top, args, uint64(len(data))-1)
		require.ErrorIs(t, err, unix.E2BIG)
	})
}
