package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The part of the OCI runtime specification's config.json (version
// 1.0-1.2) this runtime reads. Fields it does not know are kept in Extra
// maps where their presence matters (see Translate), and otherwise ignored
// as the specification allows for fields a platform does not use.

// Spec is config.json.
type Spec struct {
	Version     string            `json:"ociVersion"`
	Process     *Process          `json:"process"`
	Root        *Root             `json:"root"`
	Hostname    string            `json:"hostname"`
	Domainname  string            `json:"domainname"`
	Mounts      []Mount           `json:"mounts"`
	Hooks       *Hooks            `json:"hooks"`
	Annotations map[string]string `json:"annotations"`
	Linux       *Linux            `json:"linux"`
}

// Process is the container's process.
type Process struct {
	Terminal        bool       `json:"terminal"`
	ConsoleSize     *Box       `json:"consoleSize"`
	User            User       `json:"user"`
	Args            []string   `json:"args"`
	CommandLine     string     `json:"commandLine"`
	Env             []string   `json:"env"`
	Cwd             string     `json:"cwd"`
	Capabilities    any        `json:"capabilities"`
	Rlimits         []Rlimit   `json:"rlimits"`
	NoNewPrivileges bool       `json:"noNewPrivileges"`
	AppArmorProfile string     `json:"apparmorProfile"`
	OOMScoreAdj     *int       `json:"oomScoreAdj"`
	SelinuxLabel    string     `json:"selinuxLabel"`
	IOPriority      *anyObject `json:"ioPriority"`
	Scheduler       *anyObject `json:"scheduler"`
}

type anyObject = json.RawMessage

// Box is a terminal's size.
type Box struct {
	Height uint `json:"height"`
	Width  uint `json:"width"`
}

// User is who the process runs as.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	Umask          *uint32  `json:"umask"`
	AdditionalGids []uint32 `json:"additionalGids"`
	Username       string   `json:"username"`
}

// Rlimit is one resource limit.
type Rlimit struct {
	Type string `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// Root is the container's root file system.
type Root struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

// Mount is one entry of mounts.
type Mount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options"`
}

// Hook is one hook to run.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args"`
	Env     []string `json:"env"`
	Timeout *int     `json:"timeout"`
}

// Hooks are the lifecycle hooks.
type Hooks struct {
	Prestart        []Hook `json:"prestart"`
	CreateRuntime   []Hook `json:"createRuntime"`
	CreateContainer []Hook `json:"createContainer"`
	StartContainer  []Hook `json:"startContainer"`
	Poststart       []Hook `json:"poststart"`
	Poststop        []Hook `json:"poststop"`
}

// Linux is the Linux-specific part.
type Linux struct {
	Namespaces        []Namespace       `json:"namespaces"`
	Resources         *Resources        `json:"resources"`
	CgroupsPath       string            `json:"cgroupsPath"`
	Sysctl            map[string]string `json:"sysctl"`
	Devices           []json.RawMessage `json:"devices"`
	UIDMappings       []json.RawMessage `json:"uidMappings"`
	GIDMappings       []json.RawMessage `json:"gidMappings"`
	Seccomp           json.RawMessage   `json:"seccomp"`
	MaskedPaths       []string          `json:"maskedPaths"`
	ReadonlyPaths     []string          `json:"readonlyPaths"`
	RootfsPropagation string            `json:"rootfsPropagation"`
	MountLabel        string            `json:"mountLabel"`
	Personality       json.RawMessage   `json:"personality"`
	IntelRdt          json.RawMessage   `json:"intelRdt"`
}

// Namespace is one namespace the container wants.
type Namespace struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

// Resources are the container's cgroup limits.
type Resources struct {
	Memory         *MemoryResources  `json:"memory"`
	CPU            *CPUResources     `json:"cpu"`
	Pids           *PidsResources    `json:"pids"`
	Devices        []json.RawMessage `json:"devices"`
	BlockIO        json.RawMessage   `json:"blockIO"`
	HugepageLimits []json.RawMessage `json:"hugepageLimits"`
	Network        json.RawMessage   `json:"network"`
	Rdma           json.RawMessage   `json:"rdma"`
	Unified        map[string]string `json:"unified"`
}

// MemoryResources limit memory.
type MemoryResources struct {
	Limit            *int64  `json:"limit"`
	Reservation      *int64  `json:"reservation"`
	Swap             *int64  `json:"swap"`
	Kernel           *int64  `json:"kernel"`
	KernelTCP        *int64  `json:"kernelTCP"`
	Swappiness       *uint64 `json:"swappiness"`
	DisableOOMKiller *bool   `json:"disableOOMKiller"`
}

// CPUResources limit CPU time and placement.
type CPUResources struct {
	Shares          *uint64 `json:"shares"`
	Quota           *int64  `json:"quota"`
	Period          *uint64 `json:"period"`
	RealtimeRuntime *int64  `json:"realtimeRuntime"`
	RealtimePeriod  *uint64 `json:"realtimePeriod"`
	Cpus            string  `json:"cpus"`
	Mems            string  `json:"mems"`
}

// PidsResources limit processes.
type PidsResources struct {
	Limit int64 `json:"limit"`
}

// ReadSpec reads bundle/config.json.
func ReadSpec(bundle string) (*Spec, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle's config.json: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Process == nil {
		return nil, fmt.Errorf("%s: no process", path)
	}
	if len(s.Process.Args) == 0 {
		return nil, fmt.Errorf("%s: process.args is empty", path)
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, fmt.Errorf("%s: no root.path", path)
	}
	return &s, nil
}
