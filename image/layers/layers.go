// Package layers reads container images as Docker and OCI tools write
// them — a `docker save` tarball, an OCI image layout directory, or a tar
// of such a layout (what `docker save` writes since Docker 25) — and
// unpacks their file system into a host directory: the layers applied in
// order, whiteouts honoured (".wh.NAME" removes NAME of the layers below,
// ".wh..wh..opq" empties its directory of them), with the image config's
// Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts and Volumes.
//
// Images are input from anywhere, so nothing in one is trusted: every
// blob's digest and every layer's diff ID is checked, layer paths are
// taken inside the directory (symlinks of earlier layers resolve inside
// it, as in the chroot Docker unpacks in, and ".." cannot leave it),
// and what a tree of the image format cannot hold (device nodes, FIFOs)
// is left out with a warning.
package layers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Config is the part of an image config (the OCI image spec's "config"
// object, Docker's too) that says how to run it.
type Config struct {
	User         string              `json:"User"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Env          []string            `json:"Env"`
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
}

// Ports returns ExposedPorts sorted ("80/tcp", "53/udp").
func (c *Config) Ports() []string { return sortedKeys(c.ExposedPorts) }

// VolumeList returns Volumes sorted.
func (c *Config) VolumeList() []string { return sortedKeys(c.Volumes) }

func sortedKeys(m map[string]struct{}) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Image is an opened container image.
type Image struct {
	// Format says what was read: "docker save", "OCI layout", "OCI layout tar".
	Format string
	// Name is the image's tag where the input says one.
	Name   string
	Config Config

	store   store
	layers  []layer
	closers []io.Closer
}

// layer is one layer blob and what its uncompressed bytes must hash to.
type layer struct {
	name   string // the store's name for it
	digest string // the blob's own digest ("" in docker save's legacy layout)
	diffID string // the config's rootfs.diff_ids entry ("" when absent)
	size   int64  // -1 when unknown
}

// Close releases the input.
func (im *Image) Close() error {
	var err error
	for _, c := range im.closers {
		err = errors.Join(err, c.Close())
	}
	return err
}

// Layers is the number of layers.
func (im *Image) Layers() int { return len(im.layers) }

// Open reads the image at p: a directory holding an OCI image layout, or
// a tar file holding a `docker save` tree or an OCI image layout.
func Open(p string) (*Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	im := &Image{}
	if fi.IsDir() {
		im.store = dirStore(p)
		im.Format = "OCI layout"
	} else {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		im.closers = append(im.closers, f)
		ts, err := indexTar(f, fi.Size())
		if err != nil {
			im.Close()
			return nil, fmt.Errorf("%s: not a tar archive of an image: %v", p, err)
		}
		im.store = ts
		im.Format = "OCI layout tar"
		if _, ok := ts.entries["manifest.json"]; ok {
			im.Format = "docker save"
		}
	}
	if im.Format == "docker save" {
		err = im.readDockerSave()
	} else {
		err = im.readOCI()
	}
	if err != nil {
		im.Close()
		return nil, fmt.Errorf("%s (%s): %w", p, im.Format, err)
	}
	return im, nil
}

// maxJSON bounds the manifests and configs read into memory.
const maxJSON = 8 << 20

func (im *Image) readJSON(name, digest string, v any) error {
	r, err := im.store.open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxJSON+1))
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if len(b) > maxJSON {
		return fmt.Errorf("%s: larger than %d bytes", name, maxJSON)
	}
	if digest != "" {
		if err := checkDigest(digest, b); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// imageConfig is an image config file: what runs, and the layers' diff IDs.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       Config `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

func (im *Image) useConfig(c *imageConfig, layers []layer) error {
	if c.Architecture != "" && c.Architecture != "amd64" {
		return fmt.Errorf("the image is for %s/%s; rumpgo runs linux/amd64", c.OS, c.Architecture)
	}
	if c.OS != "" && c.OS != "linux" {
		return fmt.Errorf("the image is for %s; rumpgo runs linux/amd64", c.OS)
	}
	if n := len(c.RootFS.DiffIDs); n != 0 && n != len(layers) {
		return fmt.Errorf("the config lists %d diff IDs for %d layers", n, len(layers))
	}
	for i := range layers {
		if i < len(c.RootFS.DiffIDs) {
			layers[i].diffID = c.RootFS.DiffIDs[i]
		}
	}
	im.Config, im.layers = c.Config, layers
	return nil
}

// readDockerSave reads `docker save`'s manifest.json: the config and the
// layer files of each image (the first one is taken).
func (im *Image) readDockerSave() error {
	var ms []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := im.readJSON("manifest.json", "", &ms); err != nil {
		return err
	}
	if len(ms) == 0 {
		return errors.New("manifest.json lists no image")
	}
	if len(ms) > 1 {
		return fmt.Errorf("manifest.json lists %d images: save one (docker save IMAGE)", len(ms))
	}
	m := ms[0]
	if len(m.RepoTags) > 0 {
		im.Name = m.RepoTags[0]
	}
	var c imageConfig
	if err := im.readJSON(m.Config, digestOfName(m.Config), &c); err != nil {
		return err
	}
	var ls []layer
	for _, l := range m.Layers {
		ls = append(ls, layer{name: l, digest: digestOfName(l), size: -1})
	}
	return im.useConfig(&c, ls)
}

// digestOfName is the digest a blob's name in docker save's layout
// carries ("blobs/sha256/HEX", or "HEX.json" for the legacy config).
func digestOfName(n string) string {
	if hexPart, ok := strings.CutPrefix(n, "blobs/sha256/"); ok && isHex64(hexPart) {
		return "sha256:" + hexPart
	}
	if b, ok := strings.CutSuffix(n, ".json"); ok && isHex64(b) {
		return "sha256:" + b
	}
	return ""
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform"`
	Annotations map[string]string `json:"annotations"`
}

const (
	mtOCIIndex      = "application/vnd.oci.image.index.v1+json"
	mtDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	mtDockerManifst = "application/vnd.docker.distribution.manifest.v2+json"
)

// readOCI follows index.json to one linux/amd64 image manifest (through
// nested indexes), its config and its layers.
func (im *Image) readOCI() error {
	var layout struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := im.readJSON("oci-layout", "", &layout); err != nil {
		return fmt.Errorf("no OCI image layout (oci-layout): %w", err)
	}
	var idx struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := im.readJSON("index.json", "", &idx); err != nil {
		return err
	}
	manifests := idx.Manifests
	for depth := 0; ; depth++ {
		d, err := pickManifest(manifests)
		if err != nil {
			return err
		}
		if im.Name == "" {
			im.Name = d.Annotations["org.opencontainers.image.ref.name"]
			if n := d.Annotations["io.containerd.image.name"]; n != "" {
				im.Name = n
			}
		}
		switch d.MediaType {
		case mtOCIIndex, mtDockerList:
			if depth == 8 {
				return errors.New("image indexes nested too deep")
			}
			var sub struct {
				Manifests []descriptor `json:"manifests"`
			}
			if err := im.readBlobJSON(d, &sub); err != nil {
				return err
			}
			manifests = sub.Manifests
			continue
		case mtOCIManifest, mtDockerManifst, "":
		default:
			return fmt.Errorf("manifest %s: media type %q is not an image manifest", d.Digest, d.MediaType)
		}
		var m struct {
			MediaType string       `json:"mediaType"`
			Config    descriptor   `json:"config"`
			Layers    []descriptor `json:"layers"`
			Manifests []descriptor `json:"manifests"`
		}
		if err := im.readBlobJSON(d, &m); err != nil {
			return err
		}
		if d.MediaType == "" && len(m.Manifests) > 0 { // an index without its media type
			manifests = m.Manifests
			continue
		}
		var c imageConfig
		if err := im.readBlobJSON(m.Config, &c); err != nil {
			return err
		}
		var ls []layer
		for _, l := range m.Layers {
			name, err := blobName(l.Digest)
			if err != nil {
				return err
			}
			if strings.Contains(l.MediaType, "zstd") {
				return fmt.Errorf("layer %s is zstd-compressed (%s): not supported; gzip or uncompressed layers are", l.Digest, l.MediaType)
			}
			ls = append(ls, layer{name: name, digest: l.Digest, size: l.Size})
		}
		return im.useConfig(&c, ls)
	}
}

// pickManifest takes the linux/amd64 manifest, or the only one.
func pickManifest(ds []descriptor) (descriptor, error) {
	if len(ds) == 0 {
		return descriptor{}, errors.New("the index lists no manifest")
	}
	var plain []descriptor
	for _, d := range ds {
		if d.Platform == nil {
			plain = append(plain, d)
			continue
		}
		if d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
			return d, nil
		}
	}
	if len(plain) >= 1 {
		return plain[0], nil
	}
	return descriptor{}, errors.New("the index has no linux/amd64 manifest")
}

func blobName(digest string) (string, error) {
	alg, h, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || !isHex64(h) {
		return "", fmt.Errorf("digest %q: want sha256:<64 hex digits>", digest)
	}
	return "blobs/sha256/" + h, nil
}

func (im *Image) readBlobJSON(d descriptor, v any) error {
	name, err := blobName(d.Digest)
	if err != nil {
		return err
	}
	return im.readJSON(name, d.Digest, v)
}

func checkDigest(digest string, b []byte) error {
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return fmt.Errorf("digest %s, want %s", got, digest)
	}
	return nil
}

// store names the files of the input: a directory's or a tar's.
type store interface {
	open(name string) (io.ReadCloser, error)
}

type dirStore string

func (d dirStore) open(name string) (io.ReadCloser, error) {
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("%q: not a name inside the layout", name)
	}
	fi, err := os.Lstat(filepath.Join(string(d), name))
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	return os.Open(filepath.Join(string(d), name))
}

// tarStore is a tar file indexed once: each regular file's data offset.
type tarStore struct {
	f       *os.File
	entries map[string][2]int64 // offset, size
}

func indexTar(f *os.File, size int64) (*tarStore, error) {
	ts := &tarStore{f: f, entries: map[string][2]int64{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if off+h.Size > size {
			return nil, fmt.Errorf("%s: past the end of the file", h.Name)
		}
		ts.entries[path.Clean(h.Name)] = [2]int64{off, h.Size}
	}
	if len(ts.entries) == 0 {
		return nil, errors.New("no files")
	}
	return ts, nil
}

func (ts *tarStore) open(name string) (io.ReadCloser, error) {
	e, ok := ts.entries[path.Clean(name)]
	if !ok {
		return nil, fmt.Errorf("%s: not in the archive", name)
	}
	return io.NopCloser(io.NewSectionReader(ts.f, e[0], e[1])), nil
}

// openLayer returns the layer's uncompressed tar stream, checking the
// blob's digest and the diff ID when the stream ends (verify).
func (im *Image) openLayer(l layer) (io.Reader, func() error, error) {
	raw, err := im.store.open(l.name)
	if err != nil {
		return nil, nil, err
	}
	blobHash := sha256.New()
	teed := io.TeeReader(raw, blobHash)
	br := &peekReader{r: teed}
	head, _ := br.peek(4)
	var body io.Reader = br
	var gz *gzip.Reader
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		if gz, err = gzip.NewReader(br); err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("layer %s: %v", l.name, err)
		}
		body = gz
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		raw.Close()
		return nil, nil, fmt.Errorf("layer %s is zstd-compressed: not supported; gzip or uncompressed layers are", l.name)
	}
	diffHash := sha256.New()
	stream := io.TeeReader(body, diffHash)
	verify := func() error {
		defer raw.Close()
		// Hash what the tar reader left unread (padding, trailing blocks).
		if _, err := io.Copy(io.Discard, stream); err != nil {
			return fmt.Errorf("layer %s: %v", l.name, err)
		}
		if gz != nil {
			io.Copy(io.Discard, br) // the gzip trailer and anything after it
		}
		if err := sameDigest(l.digest, blobHash); err != nil {
			return fmt.Errorf("layer %s: %v", l.name, err)
		}
		if err := sameDigest(l.diffID, diffHash); err != nil {
			return fmt.Errorf("layer %s: uncompressed: %v", l.name, err)
		}
		return nil
	}
	return stream, verify, nil
}

func sameDigest(want string, h hash.Hash) error {
	if want == "" {
		return nil
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("digest %s, want %s (corrupt or tampered)", got, want)
	}
	return nil
}

// peekReader lets the first bytes be looked at before reading them.
type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) ([]byte, error) {
	for len(p.buf) < n {
		b := make([]byte, n-len(p.buf))
		c, err := p.r.Read(b)
		p.buf = append(p.buf, b[:c]...)
		if err != nil {
			return p.buf, err
		}
	}
	return p.buf[:n], nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}
