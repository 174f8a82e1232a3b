package layers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// entry is one layer tar entry: a directory ends in "/", "->" makes a
// symlink, "=>" a hard link; otherwise a file with that content.
type entry struct {
	name, body string
	mode       int64
}

func layerTar(t *testing.T, ents ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
			if e.mode == 0 {
				h.Mode = 0o755
			}
		case strings.HasPrefix(e.body, "->"):
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, e.body[2:]
		case strings.HasPrefix(e.body, "=>"):
			h.Typeflag, h.Size, h.Linkname = tar.TypeLink, 0, e.body[2:]
		case e.body == "FIFO":
			h.Typeflag, h.Size = tar.TypeFifo, 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// ociLayout writes an OCI image layout: an index naming a nested index
// whose arm64 manifest comes first and amd64 one second; the amd64 image
// has the given layers (the first gzip-compressed) and config.
func ociLayout(t *testing.T, dir string, cfg Config, layers ...[]byte) {
	blob := func(b []byte) map[string]any {
		d := digest(b)
		p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return map[string]any{"digest": d, "size": len(b)}
	}
	js := func(v any) []byte { b, err := json.Marshal(v); require.NoError(t, err); return b }
	var ls []any
	var diffIDs []string
	for i, l := range layers {
		diffIDs = append(diffIDs, digest(l))
		mt := "application/vnd.oci.image.layer.v1.tar"
		if i == 0 {
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(l)
			w.Close()
			l, mt = gz.Bytes(), mt+"+gzip"
		}
		d := blob(l)
		d["mediaType"] = mt
		ls = append(ls, d)
	}
	conf := blob(js(map[string]any{"architecture": "amd64", "os": "linux", "config": cfg,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}}))
	conf["mediaType"] = "application/vnd.oci.image.config.v1+json"
	man := blob(js(map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest, "config": conf, "layers": ls}))
	man["mediaType"] = mtOCIManifest
	man["platform"] = map[string]string{"os": "linux", "architecture": "amd64"}
	arm := blob(js(map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest, "config": conf, "layers": []any{}}))
	arm["mediaType"] = mtOCIManifest
	arm["platform"] = map[string]string{"os": "linux", "architecture": "arm64"}
	idx := blob(js(map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": []any{arm, man}}))
	idx["mediaType"] = mtOCIIndex
	idx["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "test:1"}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.json"), js(map[string]any{"schemaVersion": 2, "manifests": []any{idx}}), 0o644))
}

// listTree describes a host tree: path, type, mode or target, content.
func listTree(t *testing.T, tr *Tree) []string {
	var out []string
	filepath.WalkDir(tr.Dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		g := tr.guest(p)
		fi, _ := os.Lstat(p)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, g+" -> "+l)
		case fi.IsDir():
			out = append(out, strings.TrimSuffix(g, "/")+"/ "+tr.Modes[g].String())
		default:
			b, _ := os.ReadFile(p)
			out = append(out, g+" "+tr.Modes[g].String()+" "+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestUnpackOCI(t *testing.T) {
	base := layerTar(t,
		entry{name: "./"},
		entry{name: "usr/", mode: 0o755}, entry{name: "usr/bin/"}, entry{name: "bin", body: "->usr/bin"},
		entry{name: "usr/bin/tool", body: "tool v1", mode: 0o4755},
		entry{name: "etc/"}, entry{name: "etc/motd", body: "hello"}, entry{name: "etc/keep", body: "kept"},
		entry{name: "opt/old/"}, entry{name: "opt/old/a", body: "a"}, entry{name: "opt/old/sub/"}, entry{name: "opt/old/sub/b", body: "b"},
		entry{name: "escape", body: "->/../../../../etc"},
		entry{name: "dev/null", body: "FIFO"},
		entry{name: "ro/", mode: 0o555},
	)
	top := layerTar(t,
		entry{name: "etc/.wh.motd"},
		entry{name: "opt/old/"}, entry{name: "opt/old/new", body: "new"}, entry{name: "opt/old/.wh..wh..opq"},
		entry{name: "bin/added", body: "through the symlink", mode: 0o755}, // lands in usr/bin, as in Docker's chroot
		entry{name: "usr/bin/link", body: "=>usr/bin/tool"},
		entry{name: "escape/passwd", body: "not the host's"}, // the symlink resolves inside the tree
		entry{name: "../../outside", body: "clamped"},
		entry{name: "ro/child", body: "a 0555 directory of a lower layer takes new files"},
	)
	dir := t.TempDir()
	cfg := Config{Entrypoint: []string{"/bin/tool"}, Cmd: []string{"a"}, Env: []string{"PATH=/usr/bin"}, WorkingDir: "/opt",
		User: "1000", ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}}, Volumes: map[string]struct{}{"/data": {}}}
	ociLayout(t, dir, cfg, base, top)
	im, err := Open(dir)
	require.NoError(t, err)
	defer im.Close()
	require.Equal(t, "OCI layout", im.Format)
	require.Equal(t, "test:1", im.Name)
	require.Equal(t, 2, im.Layers())
	require.Equal(t, cfg.Entrypoint, im.Config.Entrypoint)
	require.Equal(t, []string{"53/udp", "8080/tcp"}, im.Config.Ports())
	require.Equal(t, []string{"/data"}, im.Config.VolumeList())
	tr, err := im.Unpack(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	require.Equal(t, []string{
		"/ -rwxr-xr-x",
		"/bin -> usr/bin",
		"/escape -> /../../../../etc",
		"/etc/ -rwxr-xr-x",
		"/etc/keep -rw-r--r-- kept",
		"/etc/passwd -rw-r--r-- not the host's",
		"/opt/ ----------", // made for its child, no entry of its own
		"/opt/old/ -rwxr-xr-x",
		"/opt/old/new -rw-r--r-- new",
		"/outside -rw-r--r-- clamped",
		"/ro/ -r-xr-xr-x",
		"/ro/child -rw-r--r-- a 0555 directory of a lower layer takes new files",
		"/usr/ -rwxr-xr-x",
		"/usr/bin/ -rwxr-xr-x",
		"/usr/bin/added -rwxr-xr-x through the symlink",
		"/usr/bin/link -rwxr-xr-x tool v1",
		"/usr/bin/tool -rwxr-xr-x tool v1",
	}, fixSetuid(listTree(t, tr)))
	require.Equal(t, fs.ModeSetuid|0o755, tr.Modes["/usr/bin/tool"], "setuid kept")
	require.Equal(t, []string{"/dev/null"}, tr.Skipped)
	a, err := os.Stat(filepath.Join(tr.Dir, "usr/bin/tool"))
	require.NoError(t, err)
	b, err := os.Stat(filepath.Join(tr.Dir, "usr/bin/link"))
	require.NoError(t, err)
	require.True(t, os.SameFile(a, b), "a hard link stays one")

	// The same layout as a tar (docker save since Docker 25 writes one).
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || err != nil {
			return err
		}
		body, _ := os.ReadFile(p)
		tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
		return nil
	})
	tw.Close()
	tarPath := filepath.Join(t.TempDir(), "layout.tar")
	require.NoError(t, os.WriteFile(tarPath, buf.Bytes(), 0o644))
	im2, err := Open(tarPath)
	require.NoError(t, err)
	defer im2.Close()
	require.Equal(t, "OCI layout tar", im2.Format)
	tr2, err := im2.Unpack(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	require.Equal(t, listTree(t, tr), listTree(t, tr2))
}

// fixSetuid shows a setuid file as its plain mode string's "-rwxr-xr-x"
// (fs.FileMode prints setuid as a "u" prefix).
func fixSetuid(l []string) []string {
	for i, s := range l {
		l[i] = strings.Replace(s, "urwxr-xr-x", "-rwxr-xr-x", 1)
	}
	return l
}

// TestBadImages: a tampered layer, a tampered config, a zstd layer and a
// layout without oci-layout are refused with a reason.
func TestBadImages(t *testing.T) {
	l := layerTar(t, entry{name: "f", body: "data"})
	mk := func() string {
		dir := t.TempDir()
		ociLayout(t, dir, Config{Cmd: []string{"/f"}}, l, l)
		return dir
	}
	// The second (uncompressed) layer's blob, altered.
	dir := mk()
	p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest(l), "sha256:"))
	require.NoError(t, os.WriteFile(p, layerTar(t, entry{name: "f", body: "evil"}), 0o644))
	im, err := Open(dir)
	require.NoError(t, err)
	_, err = im.Unpack(filepath.Join(t.TempDir(), "root"))
	require.ErrorContains(t, err, "corrupt or tampered")
	im.Close()

	dir = mk()
	require.NoError(t, os.Remove(filepath.Join(dir, "oci-layout")))
	_, err = Open(dir)
	require.ErrorContains(t, err, "no OCI image layout")

	_, err = Open(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	notTar := filepath.Join(t.TempDir(), "x.tar")
	require.NoError(t, os.WriteFile(notTar, []byte("not a tar at all, just some text that is long enough"), 0o644))
	_, err = Open(notTar)
	require.ErrorContains(t, err, "not a tar archive of an image")
}

// TestExtractKeepsDirLinks: a Debian package's ./lib/ directory entry
// keeps a merged-/usr tree's lib -> usr/lib symlink (dpkg's rule), its
// files landing in usr/lib; a container layer's directory entry replaces
// the symlink, as Docker's unpacking does.
func TestExtractKeepsDirLinks(t *testing.T) {
	data := layerTar(t, entry{name: "./lib/", mode: 0o755}, entry{name: "./lib/x/"}, entry{name: "./lib/x/libz.so", body: "z"},
		entry{name: "./bin/sh", body: "->dash"}, entry{name: "./bin/dash", body: "d", mode: 0o755})
	tr, err := NewTree(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	for _, d := range []string{"usr/lib", "usr/bin"} {
		require.NoError(t, os.MkdirAll(filepath.Join(tr.Dir, d), 0o755))
	}
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(tr.Dir, "lib")))
	require.NoError(t, os.Symlink("/usr/bin", filepath.Join(tr.Dir, "bin"))) // absolute: resolved in the tree
	require.NoError(t, tr.Extract(bytes.NewReader(data)))
	got, err := os.ReadFile(filepath.Join(tr.Dir, "usr/lib/x/libz.so"))
	require.NoError(t, err)
	require.Equal(t, "z", string(got))
	l, err := os.Readlink(filepath.Join(tr.Dir, "usr/bin/sh"))
	require.NoError(t, err)
	require.Equal(t, "dash", l)
	require.Equal(t, fs.FileMode(0o755), tr.Modes["/usr/bin/dash"])
	_, ok := tr.Modes["/lib"]
	require.False(t, ok, "the symlink has no mode of its own")

	// The same entries from a container layer replace the symlink.
	layout := t.TempDir()
	ociLayout(t, layout, Config{}, data)
	im, err := Open(layout)
	require.NoError(t, err)
	defer im.Close()
	dir := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/lib"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	lt, err := im.Unpack(dir)
	require.NoError(t, err)
	fi, err := os.Lstat(filepath.Join(lt.Dir, "lib"))
	require.NoError(t, err)
	require.True(t, fi.IsDir())
}
