package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rumpgo/rumpgo/launch"
)

// openCore opens --core's FILE for cfg before the run: the sandbox lets the
// monitor create no files once the guest runs, so the file is created
// (empty) now and the core written into it if the guest dies of a
// core-dumping signal. The returned func, run after the guest, closes it
// and removes it again when nothing was written, where the sandbox allows
// (an empty FILE otherwise means no crash).
func openCore(cfg *launch.Config, path string, stderr io.Writer) (func(), bool) {
	if path == "" {
		return func() {}, true
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo: --core: %v\n", err)
		return nil, false
	}
	cfg.Core = f
	return func() {
		st, err := f.Stat()
		f.Close()
		if err == nil && st.Size() == 0 {
			os.Remove(path)
		}
	}, true
}
