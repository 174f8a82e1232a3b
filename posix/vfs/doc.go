// Package vfs owns the file-system namespace of a machine: the interface
// every file system implements, the mount table, path resolution, the
// per-process root and working directory (FSContext), permission checks
// from posix credentials, open file descriptions of files reached by path
// (File), advisory locks (POSIX record locks, OFD locks, flock) and the
// table of character devices that device nodes open.
//
// # The contract a file system implements
//
// A file system (FileSystem) hands out Inodes. vfs never caches them: every
// path walk asks the file system again, so a host-directory file system
// sees host-side changes and a file system may make a fresh Inode value per
// lookup. What vfs relies on:
//
//   - Identity. Ino() is the inode number, unique within the file system and
//     stable for the file's life; vfs compares files by (mount, Ino()) —
//     to find mount points, the process root and cycles in rename — never by
//     Go value.
//   - Names. Lookup never sees "." (vfs handles it) nor an empty name.
//     Lookup("..") returns the parent directory; the file system's root
//     answers itself (vfs crosses mounts and stops at the process root
//     before asking). Names are at most NAME_MAX bytes and never hold '/'.
//   - Permissions and policy are vfs's: it checks search, read, write and
//     execute permission (with root's DAC bypass), sticky directories,
//     read-only mounts, ownership for chmod/chown/utimes, O_EXCL, O_TRUNC,
//     trailing slashes and symlink following, before calling the file system.
//     A file system enforces only what concerns its own structure: EEXIST,
//     ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, ENOSPC, EROFS if it is read-only
//     in itself, EPERM for operations it cannot do (hard links across its
//     own layers), and the rename rules of rename(2) (types of source and
//     target, RENAME_NOREPLACE and RENAME_EXCHANGE). vfs checks that a
//     directory is not moved below itself and that both ends of rename and
//     link are on one mount (EXDEV).
//   - Directory operations are methods of the directory's Inode; a
//     non-directory answers ENOTDIR (embed NotDir). Create makes every kind
//     of file (regular, directory, symlink, FIFO, device node, socket) from
//     a CreateAttr whose mode carries the type and whose UID/GID/Mode vfs
//     has computed (umask, setgid directories).
//   - Opening. Inode.Open returns a FileImpl: ReadAt/WriteAt at explicit
//     offsets (WriteAt with a negative offset appends, atomically with
//     respect to other appends), and optional interfaces for the rest:
//     Stream (no offsets: pipes, devices), Syncer, Allocator, Seeker
//     (SEEK_DATA/SEEK_HOLE), mm.File (mmap), waiter.Waitable and
//     posix.Ioctler. vfs wraps it in a File, the open file description the
//     fd table holds, which keeps the offset and status flags and is shared
//     by dup and threads. FIFOs and device nodes are opened by vfs, not by
//     the file system: a FIFO's inode implements FIFOInode and returns the
//     shared pipe (posix.FIFO); a device node's rdev selects a Device from
//     the VFS's table.
//   - Attributes. Stat fills every field it has (Mask says which statx
//     fields are real); SetAttr changes those in its mask, including the
//     size (truncate), after vfs has checked who may.
//   - Optional: XattrInode (getxattr and friends; ENOTSUP without it),
//     DirNamer (a directory's own name, to make getcwd cheap), MagicLink
//     (procfs's /proc/self/fd/N and exe, which jump to a file rather than
//     a path).
//
// A host-directory file system implements Inodes as O_PATH descriptors
// and every operation as one host call relative to the parent directory's
// descriptor with a single path component (so nothing the host resolves can
// leave the directory; vfs resolves symlinks and ".." itself, and the
// mount's root answers ".." with itself). A read-only image file system with
// a writable layer implements the same interface in an overlay file system
// whose inodes copy up on SetAttr, Open for writing, Create, Link, Unlink
// and Rename, and record deletions as whiteouts in the upper layer.
//
// Paths are resolved as Linux's namei does: absolute paths from the
// process root, relative ones from the working directory or a dirfd,
// ".." across mount points and never above the root, symlinks followed
// with ELOOP after 40, trailing slashes requiring directories, and the
// openat2 RESOLVE_* scopes (BENEATH, IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS,
// NO_XDEV).
package vfs
