package syscalls

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// AF_UNIX path names as socket files in the VFS, as Linux's
// unix_bind_bsd and unix_find_bsd: bind makes an S_IFSOCK file (EADDRINUSE
// when the name exists), connect and sendto resolve it (ENOENT once
// unlinked, EACCES without write permission on it, ECONNREFUSED for a
// file that is no socket or whose socket closed). The namespace knows a
// bound socket by its file's device and inode number.

// unixPath is the path sa names when s is an AF_UNIX socket and sa a
// path name (not abstract, not autobind), with ok; the path ends at the
// first NUL, as unix_mkname_bsd.
func unixPath(s posix.Socket, sa []byte) (string, bool) {
	if _, ok := s.(*posix.UnixSocket); !ok || len(sa) < 3 || binary.LittleEndian.Uint16(sa) != unix.AF_UNIX || sa[2] == 0 {
		return "", false
	}
	p := sa[2:]
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return string(p), true
}

// socketFileKey names a socket file in the unix namespace.
func socketFileKey(st vfs.Stat) string {
	return "#" + strconv.FormatUint(st.Dev, 10) + ":" + strconv.FormatUint(st.Ino, 10)
}

// unixBind binds s to the socket file it makes at path; the file is
// removed again when the bind fails after it was made.
func (t *Thread) unixBind(s *posix.UnixSocket, sa []byte, path string) unix.Errno {
	v, fsc, e := t.vfs()
	if e != 0 {
		return s.Bind(sa) // no file system: the name is the path string
	}
	ctx := t.vctx()
	if e := v.Mknod(ctx, fsc, vfs.Path{}, path, vfs.S_IFSOCK|0o777, 0, t.umask()); e != 0 {
		if e == unix.EEXIST {
			return unix.EADDRINUSE
		}
		return e
	}
	p, e := v.Lookup(ctx, fsc, vfs.Path{}, path, 0)
	if e == 0 {
		var st vfs.Stat
		if st, e = v.Stat(ctx, p); e == 0 {
			e = s.BindAt(sa, socketFileKey(st))
		}
	}
	if e != 0 {
		v.Unlink(ctx, fsc, vfs.Path{}, path)
	}
	return e
}

// unixFind resolves the socket file at path for a connect or send.
func (t *Thread) unixFind(path string) (string, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return "", 0 // no file system: the path string is the name
	}
	ctx := t.vctx()
	p, e := v.Lookup(ctx, fsc, vfs.Path{}, path, vfs.LookupFollow)
	if e != 0 {
		return "", e
	}
	st, e := v.Stat(ctx, p)
	if e != 0 {
		return "", e
	}
	if e := vfs.Permission(ctx.Cred, &st, vfs.MayWrite); e != 0 {
		return "", e
	}
	if vfs.FileType(st.Mode) != vfs.S_IFSOCK {
		return "", unix.ECONNREFUSED
	}
	return socketFileKey(st), 0
}

// connect is s.Connect, through the socket file for a unix path name.
func (t *Thread) connect(s posix.Socket, sa []byte) unix.Errno {
	path, ok := unixPath(s, sa)
	if !ok {
		return s.Connect(sa)
	}
	key, e := t.unixFind(path)
	if e != 0 {
		return e
	}
	return s.(*posix.UnixSocket).ConnectAt(sa, key)
}
