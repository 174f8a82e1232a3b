package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// ManifestName is the first entry of every image; RootDir is the
// directory holding the guest's tree.
const (
	ManifestName = "manifest.json"
	RootDir      = "rootfs"
)

// Version is the manifest version this package writes and reads.
const Version = 1

// maxManifest bounds the manifest a reader will parse.
const maxManifest = 1 << 20

// Manifest says how to run an image. Every field but Version and Entry
// may be overridden by `rumpgo run`'s flags.
type Manifest struct {
	Version int `json:"version"`
	// Entry is the program's path in the guest, absolute.
	Entry string `json:"entry"`
	// Argv is the full argument vector, argv[0] included.
	Argv []string `json:"argv"`
	// Env is the environment, KEY=VALUE each.
	Env []string `json:"env,omitempty"`
	// Workdir is the working directory, absolute ("/" when empty).
	Workdir string `json:"workdir,omitempty"`
	// User is the numeric UID[:GID] the program runs as ("" is root).
	User string `json:"user,omitempty"`
	// MemoryMiB is the guest's memory (0: rumpgo's default).
	MemoryMiB uint64 `json:"memory_mib,omitempty"`
	// Ports are the -p forwards to publish, [HOSTIP:]HOSTPORT:GUESTPORT[/proto]
	// (a lone PORT means PORT:PORT).
	Ports []string `json:"ports,omitempty"`
	// Volumes are guest directories meant to be host volumes (-v); the
	// image holds them as empty directories.
	Volumes []string `json:"volumes,omitempty"`
}

// Validate checks the manifest's fields for shape (not whether Entry
// exists in the tree; Open does that).
func (m *Manifest) Validate() error {
	if m.Version != Version {
		return fmt.Errorf("manifest version %d, want %d", m.Version, Version)
	}
	if err := checkGuestPath("entry", m.Entry); err != nil {
		return err
	}
	if len(m.Argv) == 0 {
		return fmt.Errorf("manifest argv is empty")
	}
	for _, e := range m.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.ContainsRune(e, 0) {
			return fmt.Errorf("manifest env %q: want KEY=VALUE", e)
		}
	}
	for _, a := range m.Argv {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("manifest argv holds a NUL byte")
		}
	}
	if m.Workdir != "" {
		if err := checkGuestPath("workdir", m.Workdir); err != nil {
			return err
		}
	}
	if m.User != "" {
		if _, _, err := ParseUser(m.User); err != nil {
			return fmt.Errorf("manifest user %q: %v", m.User, err)
		}
	}
	if m.MemoryMiB > 1<<20 {
		return fmt.Errorf("manifest memory_mib %d: at most 1048576", m.MemoryMiB)
	}
	for _, v := range m.Volumes {
		if err := checkGuestPath("volume", v); err != nil {
			return err
		}
	}
	for _, p := range m.Ports {
		if p == "" || strings.ContainsAny(p, " \t\n\x00") {
			return fmt.Errorf("manifest port %q", p)
		}
	}
	return nil
}

// checkGuestPath requires an absolute, clean path.
func checkGuestPath(what, p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsRune(p, 0) || len(p) >= 4096 {
		return fmt.Errorf("manifest %s %q: want a clean absolute path", what, p)
	}
	return nil
}

// ParseUser reads a numeric UID[:GID]; a lone UID is also the GID.
func ParseUser(s string) (uid, gid uint32, err error) {
	u, g, hasGID := strings.Cut(s, ":")
	id := func(v string) (uint32, error) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 1<<32-1 { // -1 means "unchanged" to set*id
			return 0, fmt.Errorf("want numeric UID[:GID] below 4294967295")
		}
		return uint32(n), nil
	}
	if uid, err = id(u); err != nil {
		return 0, 0, err
	}
	gid = uid
	if hasGID {
		if gid, err = id(g); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// encode is the manifest's canonical bytes: indented JSON with a final
// newline (field order is the struct's, so it is deterministic).
func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeManifest parses and validates a manifest, refusing unknown fields
// and trailing data.
func decodeManifest(b []byte) (*Manifest, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var m Manifest
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %v", err)
	}
	if d.More() {
		return nil, fmt.Errorf("manifest: data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}
