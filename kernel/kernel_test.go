package kernel

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Params
		err  bool
	}{
		{in: "ram=0x20000000,pool=0x100000-0x200000,root=0x102000", want: Params{RAM: 0x20000000, PoolStart: 0x100000, PoolEnd: 0x200000, Root: 0x102000}},
		{in: "root=8192,ram=1048576,pool=4096-8192", want: Params{RAM: 1 << 20, PoolStart: 4096, PoolEnd: 8192, Root: 8192}},
		{in: "", err: true},
		{in: "ram=1048576,pool=4096-8192", err: true},                     // no root
		{in: "ram=1048576,pool=8192-4096,root=8192", err: true},           // empty pool
		{in: "ram=1048576,pool=4096-8192,root=4096", err: true},           // root not 8 KiB aligned
		{in: "ram=1048576,pool=4096-2097152,root=8192", err: true},        // pool past RAM
		{in: "ram=1048576,pool=4096-8192,root=8192,extra=1", err: true},   // unknown field
		{in: "ram=lots,pool=4096-8192,root=8192", err: true},              // not a number
		{in: "ram=1048576,pool=4096-8192,root=1048576", err: true},        // root pair past RAM
		{in: "ram=1048576,pool=4096-8192,root=8192,root=8192", err: true}, // repeated
	} {
		got, err := ParseParams(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
		back, err := ParseParams(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back, "String round trip")
	}
}

// entry_amd64.s addresses userState by these offsets.
func TestUserStateLayout(t *testing.T) {
	var s userState
	base := uintptr(unsafe.Pointer(&s))
	for _, tc := range []struct {
		field uintptr
		off   uintptr
	}{
		{uintptr(unsafe.Pointer(&s.RAX)), 0}, {uintptr(unsafe.Pointer(&s.RSP)), 48},
		{uintptr(unsafe.Pointer(&s.R15)), 120}, {uintptr(unsafe.Pointer(&s.RIP)), 128},
		{uintptr(unsafe.Pointer(&s.RFLAGS)), 136}, {uintptr(unsafe.Pointer(&s.FSBase)), 144},
		{uintptr(unsafe.Pointer(&s.Vector)), 152}, {uintptr(unsafe.Pointer(&s.ErrorCode)), 160},
		{uintptr(unsafe.Pointer(&s.Addr)), 168}, {uintptr(unsafe.Pointer(&s.xsave)), 176},
	} {
		require.Equal(t, tc.off, tc.field-base)
	}
	require.Zero(t, newUserState(s.Regs).xsave%64)
}
