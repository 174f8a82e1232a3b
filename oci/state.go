package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A container's state lives in ROOT/ID (--root): state.json (what create
// recorded), exec.fifo while it is created but not started (start opens
// it, which lets the monitor go on, as runc's), ctl.sock, the
// monitor's socket for exec, and resuming while resume's SIGCONT is on
// its way (the monitor keeps that one from the guest).

// DefaultRoot is --root's default.
const DefaultRoot = "/run/rumpgo-oci"

// Container statuses (runtime-spec state).
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

// record is state.json.
type record struct {
	ID          string            `json:"id"`
	PID         int               `json:"pid"`
	PIDStart    uint64            `json:"pidStart"` // /proc/PID/stat's starttime, against PID reuse
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Poststop    []Hook            `json:"poststop,omitempty"`
	Poststart   []Hook            `json:"poststart,omitempty"`
	Owner       string            `json:"owner"`
}

// State is what `state` prints (runtime-spec's state, plus runc's
// rootfs, created and owner, which containerd reads).
type State struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	PID         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs,omitempty"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// specVersion is the runtime-spec version this runtime reports.
const specVersion = "1.0.2"

var validID = regexp.MustCompile(`^[\w+\-.]+$`)

// containerDir is ROOT/ID, checking ID.
func containerDir(root, id string) (string, error) {
	if id == "" {
		return "", errors.New("missing container ID")
	}
	if !validID.MatchString(id) || id == "." || id == ".." {
		return "", fmt.Errorf("invalid container ID %q", id)
	}
	return filepath.Join(root, id), nil
}

func readRecord(dir string) (*record, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %s does not exist", filepath.Base(dir))
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("container %s: state.json: %v", filepath.Base(dir), err)
	}
	return &r, nil
}

func writeRecord(dir string, r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "state.json"))
}

// procStart is the starttime field of /proc/PID/stat and whether PID
// is a live process (not a zombie).
func procStart(pid int) (uint64, bool) {
	start, state := procStat(pid)
	return start, state != "" && state != "Z" && state != "X"
}

// procStat is /proc/PID/stat's starttime and state ("" when PID is
// gone).
func procStat(pid int) (uint64, string) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, ""
	}
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return start, f[0]
}

// alive reports whether the monitor create started still runs.
func (r *record) alive() bool {
	if r.PID <= 0 {
		return false
	}
	start, ok := procStart(r.PID)
	return ok && start == r.PIDStart
}

// status is the container's status now.
func status(dir string, r *record) string {
	if !r.alive() {
		return StatusStopped
	}
	if _, err := os.Lstat(filepath.Join(dir, "exec.fifo")); err == nil {
		return StatusCreated
	}
	if _, st := procStat(r.PID); st == "T" {
		return StatusPaused // pause stopped the monitor, and the VM with it
	}
	return StatusRunning
}

func (r *record) state(dir string) State {
	return State{Version: specVersion, ID: r.ID, Status: status(dir, r), PID: r.PID, Bundle: r.Bundle,
		Rootfs: r.Rootfs, Created: r.Created, Annotations: r.Annotations, Owner: r.Owner}
}

// signalOf reads a signal as kill takes it: a number, or a name with or
// without SIG.
func signalOf(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %s: out of range", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
