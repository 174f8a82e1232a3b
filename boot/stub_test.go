package boot

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStubBlobIsCurrent reassembles stub.S and compares it with the
// embedded stub.bin, so an edit to the source without `go generate` fails.
func TestStubBlobIsCurrent(t *testing.T) {
	for _, tool := range []string{"as", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs binutils (%s): %v", tool, err)
		}
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "stub.o"), filepath.Join(dir, "stub.bin")
	out, err := exec.Command("as", "--64", "-o", obj, "stub.S").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	want, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.Equal(t, want, stubBlob, "stub.bin is stale: run go generate ./boot")
}

func TestStubLayout(t *testing.T) {
	// The Go side names entry points by offset; the blob must reach them.
	require.GreaterOrEqual(t, len(stubBlob), int(stubVectors-stubPA)+32*16)
	require.LessOrEqual(t, len(stubBlob), PageSize)
	at := stubMMIOStore - stubPA
	store := stubBlob[at : at+6]
	require.Equal(t, []byte{0x88, 0x05}, store[0:2], "the slow path stores AL RIP-relatively")
	disp := uint64(store[2]) | uint64(store[3])<<8 | uint64(store[4])<<16 | uint64(store[5])<<24
	require.EqualValues(t, mmioVA, KernelBase+stubMMIOStore+6+disp, "the store reaches the MMIO page")
}
