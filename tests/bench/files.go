package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// files is the [files] group, with tests/testdata/fsvol as the guest:
//
//   - sequential read of a -read-mib (256) MiB file in 1 MiB reads,
//     natively from the page cache, under rumpgo from an image (built
//     around the file with `rumpgo build`) and from a volume (the same
//     host file, read-only);
//   - creating -create-files files of 100 bytes: under rumpgo in the
//     guest's /tmp, a tmpfs, natively in /dev/shm, a tmpfs too (the host's
//     /tmp may be a disk file system).
//
// Times are measured inside the program, so boot is excluded.
func (b *bench) files() {
	fsvol := b.bin("fsvol")
	vol := b.bin("vol")
	big := filepath.Join(vol, "big")
	img := b.bin("big.img")
	err := writeBig(big, b.readMiB)
	if err == nil {
		var out []byte
		if out, err = exec.Command(b.rumpgo, "build", "-o", img, "--file", big+":/data/big", fsvol, "--", "read", "/data/big").CombinedOutput(); err != nil {
			err = fmt.Errorf("rumpgo build: %v\n%s", err, out)
		}
	}
	readName := func(from string) string {
		return fmt.Sprintf("sequential read of a %s file %s, 1 MiB reads (MiB/s, higher is better, %s)", mibName(b.readMiB), from, b.of(b.runs))
	}
	if err != nil {
		b.add("read-image", readName("from the image"), nil, nil, err, err, plain)
		b.add("read-volume", readName("from a volume"), nil, nil, err, err, plain)
	} else {
		// Warm the page cache for every side alike.
		os.ReadFile(big)
		os.ReadFile(img)
		rn, errN := perCallNs(b.runs, fsvol, "read", big)
		ri, errI := perCallNs(b.runs, b.rumpgo, "run", img)
		rv, errV := perCallNs(b.runs, b.rumpgo, "run", "-v", vol+":/data:ro", fsvol, "read", "/data/big")
		b.add("read-image", readName("from the image"), mibps(rn), mibps(ri), errN, errI, plain)
		b.add("read-volume", readName("from a volume"), mibps(rn), mibps(rv), errN, errV, plain)
		os.Remove(img)
		os.Remove(big)
	}

	base := "/dev/shm"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = os.TempDir()
	}
	var cn []float64
	var errC error
	for i := range b.runs {
		d := filepath.Join(base, "rumpgo-bench-create-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
		x, err := perCallNs(1, fsvol, "create", d, strconv.Itoa(b.createFiles))
		os.RemoveAll(d)
		if err != nil {
			errC = err
			break
		}
		cn = append(cn, x...)
	}
	cg, errG := perCallNs(b.runs, b.rumpgo, "run", fsvol, "create", "/tmp/many", strconv.Itoa(b.createFiles))
	b.add("create", fmt.Sprintf("create %d files of 100 bytes in a tmpfs (native: %s; per file, %s)", b.createFiles, base, b.of(b.runs)),
		cn, cg, errC, errG, ns)
}

// writeBig writes a file of mib MiB that does not compress to nothing.
func writeBig(path string, mib int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for i := range mib {
		for k := range chunk {
			chunk[k] = byte(i + k*7)
		}
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// mibps turns fsvol's ns per MiB into MiB/s.
func mibps(nsPerMiB []float64) []float64 {
	var v []float64
	for _, x := range nsPerMiB {
		v = append(v, 1e9/x)
	}
	return v
}
