package tests

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// busyboxStatic is Debian's busybox-static: one static glibc binary.
const busyboxStatic = "/bin/busybox"

// busyboxTime is every input's modification time.
var busyboxTime = time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC)

// busyboxInputs fills dir, which the applets see as seen, with the files
// they read.
func busyboxInputs(t *testing.T, dir, seen string) {
	t.Helper()
	files := map[string][]byte{
		"fruit.txt":       []byte("pear\napple\nfig\nbanana\napple\nCherry\n"),
		"sub/nested.txt":  []byte("nested\nfile\n"),
		"sub/deep/z.txt":  bytes.Repeat([]byte("zzz\n"), 1000),
		"empty":           nil,
		"binary.bin":      stdinData(),
		"with space.txt":  []byte("a name with a space\n"),
		"nums/unsorted":   nil,
		"nums/words.text": []byte("the quick brown fox\njumps over\nthe lazy dog\n"),
	}
	var nums strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&nums, "%d\n", (i*7919)%5003)
	}
	files["nums/unsorted"] = []byte(nums.String())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(files["nums/words.text"])
	require.NoError(t, zw.Close())
	files["words.gz"] = gz.Bytes()
	files["SUMS"] = []byte(fmt.Sprintf("%x  %s/fruit.txt\n%x  %s/empty\n0000  %s/sub/nested.txt\n",
		sha256.Sum256(files["fruit.txt"]), seen, sha256.Sum256(nil), seen, seen))
	for name, b := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	// Fixed times, so gzip's and tar's headers and ls -l agree.
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, busyboxTime, busyboxTime)
	}))
}

// treeOf lists dir's files and their contents, for comparing what the
// applets wrote.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			tree[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		tree[rel] = string(b)
		return err
	}))
	return tree
}

// TestBusybox runs busybox-static's applets that need no fork, natively
// and under rumpgo, on the same inputs: stdout, stderr, exit status and
// the files they leave must match. The native run works in a directory D;
// rumpgo gets a copy of it mounted at the same path D (-v copy:D), so
// argv and every path printed are the same.
func TestBusybox(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	if _, err := os.Stat(busyboxStatic); err != nil {
		t.Fatalf("needs %s (apt-get install busybox-static): %v", busyboxStatic, err)
	}
	for _, tc := range []struct {
		name  string
		args  []string // @ in an argument or stdin is the directory
		stdin string
	}{
		{name: "echo", args: []string{"echo", "hello,", "world", "-n"}},
		{name: "echo -e", args: []string{"echo", "-e", `tab\there\nnewline\x41`}},
		{name: "cat", args: []string{"cat", "@/fruit.txt", "@/sub/nested.txt", "@/empty", "@/with space.txt"}},
		{name: "cat stdin", args: []string{"cat", "-n", "-"}, stdin: "one\ntwo\nthree\n"},
		{name: "cat missing", args: []string{"cat", "@/fruit.txt", "@/no-such-file"}},
		{name: "ls", args: []string{"ls", "@"}},
		{name: "ls -lnR", args: []string{"ls", "-lnR", "@"}},
		{name: "ls -1S", args: []string{"ls", "-1S", "@/sub/deep", "@/fruit.txt", "@/binary.bin"}},
		{name: "sha256sum", args: []string{"sha256sum", "@/fruit.txt", "@/binary.bin", "@/empty", "@/sub/deep/z.txt"}},
		{name: "sha256sum stdin", args: []string{"sha256sum"}, stdin: "some bytes\n"},
		{name: "sha256sum -c", args: []string{"sha256sum", "-c", "@/SUMS"}},
		{name: "wc", args: []string{"wc", "@/fruit.txt", "@/nums/unsorted", "@/nums/words.text", "@/binary.bin"}},
		{name: "wc -l stdin", args: []string{"wc", "-l"}, stdin: "a\nb\nc\n"},
		{name: "sort", args: []string{"sort", "@/fruit.txt"}},
		{name: "sort -n -r -u", args: []string{"sort", "-n", "-r", "-u", "@/nums/unsorted"}},
		{name: "sort -f -o", args: []string{"sort", "-f", "-o", "@/sorted.txt", "@/fruit.txt"}},
		{name: "sort stdin -k2", args: []string{"sort", "-k2"}, stdin: "x 3\ny 1\nz 2\n"},
		{name: "gzip -c", args: []string{"gzip", "-c", "-9", "@/nums/unsorted"}},
		{name: "gzip stdin", args: []string{"gzip"}, stdin: "compress me, compress me, compress me\n"},
		{name: "gzip in place", args: []string{"gzip", "@/binary.bin", "@/fruit.txt"}},
		{name: "gunzip -c", args: []string{"gunzip", "-c", "@/words.gz"}},
		{name: "gzip -d in place", args: []string{"gzip", "-d", "@/words.gz"}},
		{name: "tar -c", args: []string{"tar", "-c", "-f", "-", "-C", "@", "fruit.txt", "sub", "nums"}},
		// (tar -z pipes through a forked gzip: not without fork, issue 8.)
		{name: "tar -cf", args: []string{"tar", "-cf", "@/out.tar", "-C", "@", "sub", "binary.bin"}},
		{name: "tar -tvf", args: []string{"tar", "-tvf", "@/out.tar"}, stdin: "TAR"},
		{name: "tar -x", args: []string{"tar", "-x", "-v", "-C", "@/sub"}, stdin: "TAR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			native, copied := filepath.Join(d, "native"), filepath.Join(d, "guest")
			busyboxInputs(t, native, native)
			busyboxInputs(t, copied, native)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "@", native)
			}
			stdin := []byte(tc.stdin)
			if tc.stdin == "TAR" { // an archive made natively, on stdin and in out.tar
				tar := run(t, os.Environ(), nil, busyboxStatic, "tar", "-c", "-f", "-", "-C", native, "fruit.txt", "nums")
				require.Equal(t, 0, tar.status, tar.stderr)
				stdin = []byte(tar.stdout)
				for _, dir := range []string{native, copied} {
					require.NoError(t, os.WriteFile(filepath.Join(dir, "out.tar"), stdin, 0o644))
				}
			}
			n := run(t, os.Environ(), stdin, append([]string{busyboxStatic}, args...)...)
			g := run(t, os.Environ(), stdin, append([]string{rumpgo, "run", "-v", copied + ":" + native, busyboxStatic}, args...)...)
			require.Equal(t, n.stdout, g.stdout, "native stderr:\n%s\nrumpgo stderr:\n%s", n.stderr, g.stderr)
			require.Equal(t, n.stderr, g.stderr)
			require.Equal(t, n.status, g.status, "rumpgo stderr:\n%s", g.stderr)
			require.Equal(t, treeOf(t, native), treeOf(t, copied), "the files left behind")
		})
	}
}
