package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// fileBench is `go run ./tests/bench -files`: file-system costs, native
// against rumpgo, with tests/testdata/fsvol as the guest:
//
//   - sequential read of a 256 MiB file (1 MiB reads), natively from the
//     page cache, under rumpgo from an image (built around the file with
//     `rumpgo build`) and from a volume (the same host file);
//   - creating 10 000 files of 100 bytes in /tmp (natively the host's
//     /tmp, and /dev/shm for a tmpfs; under rumpgo the guest's tmpfs).
//
// Times are measured inside the program, so boot is excluded.
func fileBench(rumpgo, root, dir string, runs int) int {
	fsvol := filepath.Join(dir, "fsvol")
	if err := goBuild(root, fsvol, "./tests/testdata/fsvol"); err != nil {
		return fail("%v", err)
	}
	vol := filepath.Join(dir, "vol")
	big := filepath.Join(vol, "big")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		return fail("%v", err)
	}
	f, err := os.Create(big)
	if err != nil {
		return fail("%v", err)
	}
	chunk := make([]byte, 1<<20)
	for i := range 256 {
		for k := range chunk {
			chunk[k] = byte(i + k*7)
		}
		f.Write(chunk)
	}
	if err := f.Close(); err != nil {
		return fail("%v", err)
	}
	img := filepath.Join(dir, "big.img")
	if out, err := exec.Command(rumpgo, "build", "-o", img, "--file", big+":/data/big", fsvol, "--", "read", "/data/big").CombinedOutput(); err != nil {
		return fail("rumpgo build: %v\n%s", err, out)
	}
	// Warm the page cache for every side alike.
	os.ReadFile(big)
	os.ReadFile(img)

	fmt.Println(machineLine())
	fmt.Println()
	fmt.Println("| measurement | native | rumpgo | ratio |")
	fmt.Println("|---|---|---|---|")
	failed := false
	row := func(name string, native, guest []float64, errN, errG error, unit func(float64) (float64, string)) {
		cell := func(v []float64, err error) string {
			if err != nil {
				failed = true
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
				return "failed"
			}
			return spread(v, unit)
		}
		ratio := "–"
		if errN == nil && errG == nil {
			ratio = fmt.Sprintf("%.1f×", median(guest)/median(native))
		}
		fmt.Printf("| %s | %s | %s | %s |\n", name, cell(native, errN), cell(guest, errG), ratio)
	}
	rn, errN := perCallNs(runs, fsvol, "read", big)
	ri, errI := perCallNs(runs, rumpgo, "run", img)
	rv, errV := perCallNs(runs, rumpgo, "run", "-v", vol+":/data:ro", fsvol, "read", "/data/big")
	row(fmt.Sprintf("read 256 MiB sequentially from the image (per MiB, median of %d)", runs), rn, ri, errN, errI, ns)
	row(fmt.Sprintf("read 256 MiB sequentially from a volume (per MiB, median of %d)", runs), rn, rv, errN, errV, ns)
	const files = 10000
	// The host's /tmp may be a disk file system; /dev/shm is tmpfs, as
	// the guest's /tmp.
	native := func(base string) ([]float64, error) {
		var v []float64
		for i := range runs {
			d := filepath.Join(base, "rumpgo-bench-create-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
			x, err := perCallNs(1, fsvol, "create", d, strconv.Itoa(files))
			os.RemoveAll(d)
			if err != nil {
				return nil, err
			}
			v = append(v, x...)
		}
		return v, nil
	}
	cg, errG := perCallNs(runs, rumpgo, "run", fsvol, "create", "/tmp/many", strconv.Itoa(files))
	cn, errC := native(os.TempDir())
	row(fmt.Sprintf("create 10 000 files of 100 bytes in /tmp (per file, median of %d)", runs), cn, cg, errC, errG, ns)
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		cs, errS := native("/dev/shm")
		row(fmt.Sprintf("the same, native in /dev/shm, a tmpfs (per file, median of %d)", runs), cs, cg, errS, errG, ns)
	}
	if failed {
		return 1
	}
	return 0
}
