package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func testManifest() *Manifest {
	return &Manifest{Entry: "/bin/prog", Argv: []string{"/bin/prog", "-x"}, Env: []string{"A=b"}, Workdir: "/srv",
		Ports: []string{"8080"}, Volumes: []string{"/data"}}
}

func buildTestImage(t testing.TB) []byte {
	b := NewBuilder()
	require.NoError(t, b.AddFile("/bin/prog", 0o755, []byte("\x7fELF not really")))
	require.NoError(t, b.AddFile("/etc/app.conf", 0o644, []byte("mode=prod\n")))
	require.NoError(t, b.AddDir("/srv", 0o755))
	require.NoError(t, b.AddSymlink("/srv/conf", "/etc/app.conf"))
	var out bytes.Buffer
	require.NoError(t, b.Write(&out, testManifest(), Options{}))
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := buildTestImage(t)
	im, err := Read(bytes.NewReader(data), int64(len(data)), "t.img")
	require.NoError(t, err)
	require.Equal(t, "/bin/prog", im.Manifest.Entry)
	require.Equal(t, []string{"/data"}, im.Manifest.Volumes)
	var paths []string
	im.Walk(func(p string, n *Node) { paths = append(paths, p) })
	require.Equal(t, []string{"/", "/bin", "/bin/prog", "/data", "/etc", "/etc/app.conf", "/srv", "/srv/conf"}, paths)
	conf := im.Lookup("/etc/app.conf")
	require.NotNil(t, conf)
	buf := make([]byte, 64)
	n, _ := im.ReadAt(conf, buf, 0)
	require.Equal(t, "mode=prod\n", string(buf[:n]))
	require.Equal(t, uint32(unix.S_IFREG|0o644), conf.Mode)
	require.Equal(t, "/etc/app.conf", im.Lookup("/srv/conf").Target)
	require.Equal(t, uint32(6), im.Root.Nlink, "2 + four subdirectories")
	require.Equal(t, int64(0), conf.Mtime, "the epoch")

	// Standard tar sees the layout, owned by 0:0 with no names.
	tr := tar.NewReader(bytes.NewReader(data))
	h, err := tr.Next()
	require.NoError(t, err)
	require.Equal(t, ManifestName, h.Name)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		require.Equal(t, 0, h.Uid)
		require.Empty(t, h.Uname)
		require.True(t, h.ModTime.Equal(time.Unix(0, 0)))
	}
}

func TestDeterministic(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "a/b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a/b/c"), []byte("c"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "z"), []byte("z"), 0o644))
	require.NoError(t, os.Link(filepath.Join(src, "z"), filepath.Join(src, "a/hard")))
	require.NoError(t, os.Symlink("../z", filepath.Join(src, "a/sym")))
	build := func() []byte {
		b := NewBuilder()
		require.NoError(t, b.AddFile("/bin/prog", 0o755, []byte("prog")))
		require.NoError(t, b.AddHost(src, "/srv/static"))
		var out bytes.Buffer
		require.NoError(t, b.Write(&out, testManifest(), Options{}))
		return out.Bytes()
	}
	one := build()
	// Touching the sources changes no byte.
	future := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(src, "z"), future, future))
	require.Equal(t, one, build())
	im, err := Read(bytes.NewReader(one), int64(len(one)), "t.img")
	require.NoError(t, err)
	hard, z := im.Lookup("/srv/static/a/hard"), im.Lookup("/srv/static/z")
	require.Same(t, hard, z, "host hard links stay hard links")
	require.Equal(t, uint32(2), z.Nlink)
	require.Equal(t, uint32(unix.S_IFREG|0o600), im.Lookup("/srv/static/a/b/c").Mode)
}

// rawTar writes entries as given, for images the builder would never make.
type rawEntry struct {
	hdr  tar.Header
	data string
}

func rawTar(t testing.TB, manifest string, entries ...rawEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if manifest != "" {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest))}))
		tw.Write([]byte(manifest))
	}
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg || h.Typeflag == 0 {
			h.Size = int64(len(e.data))
		}
		if h.Mode == 0 && h.Typeflag != tar.TypeXGlobalHeader {
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(&h))
		tw.Write([]byte(e.data))
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

const goodManifest = `{"version":1,"entry":"/p","argv":["/p"]}`

func dirE(name string) rawEntry { return rawEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir}} }
func fileE(name, data string) rawEntry {
	return rawEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg}, data: data}
}

func TestHostile(t *testing.T) {
	good := rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"))
	_, err := Read(bytes.NewReader(good), int64(len(good)), "x")
	require.NoError(t, err, "the baseline is fine")

	// A header whose size field claims a terabyte.
	huge := bytes.Clone(good)
	off := bytes.Index(huge, []byte("rootfs/p\x00"))
	copy(huge[off+124:off+136], "17777777777\x00") // 8 GiB in octal
	fixChecksum(huge[off : off+512])

	corrupt := bytes.Clone(good)
	corrupt[off+148] ^= 0x55 // the checksum no longer matches

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty archive"},
		{"not tar", []byte("hello, this is not a tar archive at all, but long enough to look at........................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................."), "not a valid image"},
		{"no manifest", rawTar(t, "", dirE("rootfs/")), "first entry must be"},
		{"bad manifest json", rawTar(t, `{"version":1,`, dirE("rootfs/")), "manifest"},
		{"unknown manifest field", rawTar(t, `{"version":1,"entry":"/p","argv":["/p"],"evil":1}`, dirE("rootfs/"), fileE("rootfs/p", "x")), "unknown field"},
		{"manifest version", rawTar(t, `{"version":9,"entry":"/p","argv":["/p"]}`, dirE("rootfs/")), "version 9"},
		{"entry missing", rawTar(t, goodManifest, dirE("rootfs/")), "entry /p is not a regular file"},
		{"dotdot", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/../../etc/passwd", "x")), "would leave the root"},
		{"dotdot inside", rawTar(t, goodManifest, dirE("rootfs/"), dirE("rootfs/a/"), fileE("rootfs/a/../p", "x")), "would leave the root"},
		{"absolute", rawTar(t, goodManifest, dirE("rootfs/"), fileE("/etc/passwd", "x")), "absolute name"},
		{"outside rootfs", rawTar(t, goodManifest, dirE("rootfs/"), fileE("other", "x")), "outside rootfs/"},
		{"dot component", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/./p", "x")), "\".\" in the name"},
		{"duplicate", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), fileE("rootfs/p", "y")), "duplicate"},
		{"orphan", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), fileE("rootfs/no/q", "y")), "directory is not in the archive"},
		{"char device", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Name: "rootfs/mem", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 1}}), "device nodes"},
		{"block device", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Name: "rootfs/sda", Typeflag: tar.TypeBlock}}), "device nodes"},
		{"fifo", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Name: "rootfs/f", Typeflag: tar.TypeFifo}}), "FIFOs"},
		{"hard link outside", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Name: "rootfs/l", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}}), "hard link"},
		{"hard link forward", rawTar(t, goodManifest, dirE("rootfs/"), rawEntry{hdr: tar.Header{Name: "rootfs/l", Typeflag: tar.TypeLink, Linkname: "rootfs/p"}}, fileE("rootfs/p", "x")), "not an earlier regular file"},
		{"hard link to dir", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), dirE("rootfs/d/"), rawEntry{hdr: tar.Header{Name: "rootfs/l", Typeflag: tar.TypeLink, Linkname: "rootfs/d"}}), "not an earlier regular file"},
		{"root not first", rawTar(t, goodManifest, fileE("rootfs/p", "x"), dirE("rootfs/")), "directory is not in the archive"},
		{"root a file", rawTar(t, goodManifest, fileE("rootfs", "x")), "root must be a directory"},
		{"huge size", huge, "runs past the end"},
		{"corrupted header", corrupt, "corrupted archive"},
		{"truncated in data", good[:off+512+1], "truncated"},
		{"truncated at boundary", good[:off+1024], "truncated"},
		{"no end marker half", good[:len(good)-512*len(good[off+1024:])/512+512], "truncated"},
		{"global header", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"path": "x"}}}), "global PAX"},
		{"file under file", rawTar(t, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), fileE("rootfs/p/q", "y")), "parent is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data), int64(len(tc.data)), "bad.img")
			require.Error(t, err)
			var ie *Error
			require.ErrorAs(t, err, &ie)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "image bad.img")
		})
	}
}

// fixChecksum recomputes a ustar header's checksum.
func fixChecksum(h []byte) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	s := []byte("0000000\x00")
	for i := 6; i >= 0; i-- {
		s[i] = byte('0' + sum&7)
		sum >>= 3
	}
	copy(h[148:156], s)
}

func TestBuilderRefuses(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	b := NewBuilder()
	require.ErrorContains(t, b.AddHost(dir, "/x"), "a FIFO")
	b = NewBuilder()
	require.NoError(t, b.AddFile("/a", 0o644, nil))
	require.ErrorContains(t, b.AddFile("/a", 0o644, nil), "twice")
	require.ErrorContains(t, b.AddFile("/a/b", 0o644, nil), "not a directory")
	require.ErrorContains(t, b.AddFile("rel", 0o644, nil), "absolute")
	require.ErrorContains(t, b.Write(&bytes.Buffer{}, &Manifest{Entry: "/nope", Argv: []string{"x"}}, Options{}), "not a regular file")
}

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, and
// whatever it accepts must be self-consistent.
func FuzzRead(f *testing.F) {
	f.Add(buildTestImage(f))
	f.Add(rawTar(f, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x")))
	f.Add(rawTar(f, goodManifest, dirE("rootfs/"), fileE("rootfs/p", "x"), rawEntry{hdr: tar.Header{Name: "rootfs/l", Typeflag: tar.TypeLink, Linkname: "rootfs/p"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Read(bytes.NewReader(data), int64(len(data)), "fuzz")
		if err != nil {
			return
		}
		im.Walk(func(p string, n *Node) {
			if n.IsRegular() && (n.Offset < 0 || n.Size < 0 || n.Offset+n.Size > int64(len(data))) {
				t.Fatalf("%s: data [%d,+%d) outside the image of %d bytes", p, n.Offset, n.Size, len(data))
			}
			if p != "/" && checkName(p[1:]) != nil {
				t.Fatalf("accepted bad path %q", p)
			}
		})
		if e := im.Lookup(im.Manifest.Entry); e == nil || !e.IsRegular() {
			t.Fatal("entry not a regular file")
		}
	})
}

// TestBuilderResolve: guest paths resolve through the tree's symlinks as
// the guest's kernel resolves them, relative and absolute, with "..".
func TestBuilderResolve(t *testing.T) {
	b := NewBuilder()
	require.NoError(t, b.AddFile("/usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte("x")))
	require.NoError(t, b.AddSymlink("/lib", "usr/lib"))
	require.NoError(t, b.AddSymlink("/lib64/ld.so", "/lib/x86_64-linux-gnu/libc.so.6"))
	require.NoError(t, b.AddSymlink("/usr/lib/up", "../lib/x86_64-linux-gnu"))
	require.NoError(t, b.AddSymlink("/loop", "loop"))
	require.NoError(t, b.AddFile("/etc/f", 0o644, nil))
	for _, tc := range []struct {
		in, out string
		exists  bool
	}{
		{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/lib64/ld.so", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/usr/lib/up/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", false},
		{"/opt/new/x", "/opt/new/x", false},
		{"/", "/", true},
	} {
		got, exists, err := b.Resolve(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.out, got, tc.in)
		require.Equal(t, tc.exists, exists, tc.in)
	}
	_, _, err := b.Resolve("/loop/x")
	require.ErrorContains(t, err, "too many levels of symbolic links")
	_, _, err = b.Resolve("/etc/f/x")
	require.ErrorContains(t, err, "not a directory")
}
