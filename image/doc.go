// Package image is rumpgo's image format: one file holding a program, the
// files it needs and how to run it, that `rumpgo build` writes and
// `rumpgo run` boots.
//
// # Layout
//
// An image is a POSIX tar archive (ustar, with PAX records only where a
// name or link target is too long for ustar), so tar(1), bsdtar and every
// archive library can list and unpack it:
//
//	manifest.json          the first entry: how to run it (Manifest)
//	rootfs/                the guest's "/"
//	rootfs/bin/            ... every directory, regular file, symlink and
//	rootfs/bin/web             hard link of the guest's tree, in byte order
//	rootfs/etc/app.conf        of their paths (parents before children)
//
// and the archive's end marker (two zero blocks). Only directories,
// regular files, symlinks and hard links (to an earlier regular file) may
// appear under rootfs/; device nodes, FIFOs, sockets, sparse files and
// global PAX headers are refused.
//
// # Determinism
//
// The writer's output depends on the inputs' names, contents, symlink
// targets and permission bits only: entries are sorted; every owner is
// 0:0 with no user or group names; every time is Options.ModTime (the Unix
// epoch unless SOURCE_DATE_EPOCH says otherwise); no access or change
// times, no xattrs, no host inode or device numbers. Building the same
// inputs twice gives the same bytes.
//
// # Reading hostile images
//
// Open indexes an image without extracting anything: it writes nothing,
// anywhere. It refuses, with one *Error naming the entry and the reason,
// a missing or invalid manifest, names that are absolute, hold "..", "."
// or empty components, or lie outside rootfs/, duplicates, entries whose
// parent directory is missing, unsupported types (device nodes and the
// like), hard links to anything but an earlier regular file, sizes or
// offsets past the end of the file, a missing end marker (truncation) and
// headers tar cannot parse (corruption). The index keeps each regular
// file's offset in the image, so file systems read the data in place.
package image
