package mm_test

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
)

// TestFrameIO: host I/O of a frame never sees the frame's own memory
// (inside the guest kernel the monitor cannot address it), what a short
// read leaves is zero, and a failed read (-1) zeroes the whole page.
func TestFrameIO(t *testing.T) {
	frame := bytes.Repeat([]byte{0xaa}, mm.PageSize)
	inFrame := func(p []byte) bool {
		a, f := uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(unsafe.Pointer(&frame[0]))
		return a >= f && a < f+mm.PageSize
	}
	n, err := mm.ReadFrame(frame, func(p []byte) (int, error) {
		require.False(t, inFrame(p), "read into the frame itself")
		require.Len(t, p, mm.PageSize)
		return copy(p, "short"), nil
	})
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, append([]byte("short"), make([]byte, mm.PageSize-5)...), frame)

	failed := errors.New("EFAULT")
	frame[100] = 1
	n, err = mm.ReadFrame(frame, func(p []byte) (int, error) { return -1, failed })
	require.Equal(t, 0, n)
	require.Equal(t, failed, err)
	require.Equal(t, make([]byte, mm.PageSize), frame)

	copy(frame, "written back")
	var got []byte
	n, err = mm.WriteFrame(frame[:12], func(p []byte) (int, error) {
		require.False(t, inFrame(p), "written from the frame itself")
		got = append(got, p...)
		return len(p), nil
	})
	require.NoError(t, err)
	require.Equal(t, 12, n)
	require.Equal(t, "written back", string(got))
}
