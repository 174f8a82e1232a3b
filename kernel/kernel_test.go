package kernel

import (
	"testing"

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
