package procfs

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

type mapInfo struct {
	dev, ino, off uint64
	name          string
}

// mapFileInfo describes a file mapping's file for /proc/PID/maps.
func mapFileInfo(v mm.VMA) (mapInfo, bool) {
	if v.File == nil {
		return mapInfo{}, false
	}
	dev, ino, name := v.File.MapInfo()
	return mapInfo{dev: dev, ino: ino, off: v.Off, name: name}, true
}

func (fs *FS) cpuinfo(*vfs.Context) ([]byte, unix.Errno) {
	if fs.sys.CPUInfo != nil {
		if b := fs.sys.CPUInfo(); b != nil {
			return b, 0
		}
	}
	var b bytes.Buffer
	for i := 0; i < max(fs.sys.CPUs, 1); i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: unknown\nmodel name\t: rumpgo virtual CPU\ncpu cores\t: %d\n\n", i, fs.sys.CPUs)
	}
	return b.Bytes(), 0
}

func (fs *FS) meminfo(*vfs.Context) ([]byte, unix.Errno) {
	total := fs.sys.MemBytes >> 10
	var used uint64
	if fs.sys.MemUsed != nil {
		used = fs.sys.MemUsed() >> 10
	}
	free := total - min(used, total)
	var b bytes.Buffer
	for _, r := range []struct {
		k string
		v uint64
	}{
		{"MemTotal", total}, {"MemFree", free}, {"MemAvailable", free}, {"Buffers", 0}, {"Cached", 0},
		{"SwapCached", 0}, {"Active", used}, {"Inactive", 0}, {"SwapTotal", 0}, {"SwapFree", 0},
		{"Dirty", 0}, {"Shmem", 0}, {"CommitLimit", total}, {"Committed_AS", used},
		{"HugePages_Total", 0}, {"Hugepagesize", 2048},
	} {
		if r.k == "HugePages_Total" {
			fmt.Fprintf(&b, "%-16s%8d\n", r.k+":", r.v)
			continue
		}
		fmt.Fprintf(&b, "%-16s%8d kB\n", r.k+":", r.v)
	}
	return b.Bytes(), 0
}

func (fs *FS) stat(*vfs.Context) ([]byte, unix.Errno) {
	var b bytes.Buffer
	b.WriteString("cpu  0 0 0 0 0 0 0 0 0 0\n")
	for i := 0; i < max(fs.sys.CPUs, 1); i++ {
		fmt.Fprintf(&b, "cpu%d 0 0 0 0 0 0 0 0 0 0\n", i)
	}
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		fs.sys.Boot.Unix(), len(fs.sys.PIDs()))
	return b.Bytes(), 0
}

func (fs *FS) uptime(*vfs.Context) ([]byte, unix.Errno) {
	up := time.Since(fs.sys.Boot).Seconds()
	return []byte(fmt.Sprintf("%.2f %.2f\n", up, up*float64(max(fs.sys.CPUs, 1)))), 0
}

func (fs *FS) loadavg(*vfs.Context) ([]byte, unix.Errno) {
	n := 0
	last := 1
	for _, pid := range fs.sys.PIDs() {
		if p := fs.sys.Process(pid); p != nil {
			n += p.Group.NumTasks()
			if tids := p.Group.TIDs(); len(tids) > 0 {
				last = max(last, tids[len(tids)-1])
			}
		}
	}
	return []byte(fmt.Sprintf("0.00 0.00 0.00 1/%d %d\n", n, last)), 0
}

func (fs *FS) version(*vfs.Context) ([]byte, unix.Errno) {
	return []byte(fmt.Sprintf("Linux version %s (rumpgo) %s\n", fs.sys.Release, fs.sys.Version)), 0
}

func text(s string) func(*vfs.Context) ([]byte, unix.Errno) {
	return func(*vfs.Context) ([]byte, unix.Errno) { return []byte(s + "\n"), 0 }
}

// sysDir is /proc/sys: the sysctls programs read (sysctl.go), and the
// ones made from the machine.
func (fs *FS) sysDir(_ *vfs.Context, n *node) []*node {
	ro := func(c *node) *node { c.sysctl = true; return c }
	kernel := func(ctx *vfs.Context, k *node) []*node {
		host := k.file("hostname", func(*vfs.Context) ([]byte, unix.Errno) { return []byte(fs.sys.Hostname() + "\n"), 0 })
		if fs.sys.SetHostname != nil {
			host = k.writable("hostname", host.gen, func(ctx *vfs.Context, b []byte) unix.Errno {
				return fs.sys.SetHostname(ctx, bytes.TrimSuffix(b, []byte("\n")))
			})
		}
		host.sysctl = true
		domain := k.file("domainname", text("(none)"))
		if fs.sys.Domainname != nil {
			domain = k.writable("domainname", func(*vfs.Context) ([]byte, unix.Errno) { return []byte(fs.sys.Domainname() + "\n"), 0 },
				func(ctx *vfs.Context, b []byte) unix.Errno {
					return fs.sys.SetDomainname(ctx, bytes.TrimSuffix(b, []byte("\n")))
				})
		}
		domain.sysctl = true
		return append(fs.sysctlDir("kernel")(ctx, k),
			host, domain,
			ro(k.file("osrelease", text(fs.sys.Release))),
			ro(k.file("version", text(fs.sys.Version))),
			k.dir("random", func(_ *vfs.Context, r *node) []*node {
				return []*node{
					ro(r.file("boot_id", fs.bootID)),
					ro(r.file("uuid", uuid)),
					ro(r.file("entropy_avail", text("256"))),
					ro(r.file("poolsize", text("256"))),
				}
			}),
		)
	}
	return []*node{
		n.dir("kernel", kernel),
		n.dir("net", fs.sysctlDir("net")),
		n.dir("vm", fs.sysctlDir("vm")),
		n.dir("fs", fs.sysctlDir("fs")),
	}
}

func (fs *FS) bootID(*vfs.Context) ([]byte, unix.Errno) {
	// Stable for the machine's life: derived from its boot time.
	t := uint64(fs.sys.Boot.UnixNano())
	return []byte(fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x\n", uint32(t>>32), uint16(t>>16), uint16(t)&0xfff, uint16(t>>8)&0xfff, t&0xffffffffffff)), 0
}

func uuid(*vfs.Context) ([]byte, unix.Errno) {
	var r [16]byte
	randRead(r[:])
	r[6] = r[6]&0x0f | 0x40
	r[8] = r[8]&0x3f | 0x80
	return []byte(fmt.Sprintf("%x-%x-%x-%x-%x\n", r[0:4], r[4:6], r[6:8], r[8:10], r[10:16])), 0
}

func randRead(b []byte) { rand.Read(b) }
