package procfs

import (
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// NetFiles makes /proc/net's files; the kernel's network implements it.
type NetFiles interface {
	// NetFile returns /proc/net/NAME's text, made now; ok false: no
	// such file.
	NetFile(name string) (text []byte, ok bool)
}

// netNames are the files of /proc/net.
var netNames = []string{"dev", "if_inet6", "route", "tcp", "tcp6", "udp", "udp6", "unix"}

// netDir is /proc/net.
func (fs *FS) netDir(_ *vfs.Context, n *node) []*node {
	out := make([]*node, 0, len(netNames))
	for _, name := range netNames {
		out = append(out, n.file(name, func(*vfs.Context) ([]byte, unix.Errno) {
			b, ok := fs.sys.Net.NetFile(name)
			if !ok {
				return nil, unix.ENOENT
			}
			return b, 0
		}))
	}
	return out
}
