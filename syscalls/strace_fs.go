package syscalls

// Argument kinds of the file-system calls, numbered apart from
// strace.go's list so the two can grow independently.
const (
	aMode    argKind = 100 + iota // file type and permissions: S_IFIFO|0644
	aAtFlags                      // AT_* flags of the *at calls
	aWhence                       // lseek's SEEK_*
	aAccess                       // access(2)'s R_OK|W_OK|X_OK or F_OK
	aRename                       // renameat2's RENAME_*
	aStatx                        // statx's STATX_* mask
	aFlock                        // flock's LOCK_*
)
