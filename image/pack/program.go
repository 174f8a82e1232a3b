package pack

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rumpgo/rumpgo/launch"
	"golang.org/x/sys/unix"
)

// FindProgram resolves argv[0] in the host directory root as execve and
// the shell would for the guest: through pathEnv when it has no slash,
// against cwd when relative, unwrapping #! scripts (up to four levels, the
// rest of the line one argument, as Linux passes it), because rumpgo boots
// an ELF. It returns the ELF's guest path, free of symlinks (an image's
// entry is a regular file of its tree), and the argv it gets.
func FindProgram(root string, argv []string, pathEnv, cwd string) (string, []string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", nil, fmt.Errorf("no program to run")
	}
	if cwd == "" {
		cwd = "/"
	}
	name := argv[0]
	var p string
	if strings.Contains(name, "/") {
		p = name
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		if err := checkExec(root, p); err != nil {
			return "", nil, err
		}
	} else {
		for _, dir := range filepath.SplitList(pathEnv) {
			if dir == "" {
				dir = "."
			}
			c := path.Join(dir, name)
			if !path.IsAbs(c) {
				c = path.Join(cwd, c)
			}
			if checkExec(root, c) == nil {
				p = c
				break
			}
		}
		if p == "" {
			return "", nil, fmt.Errorf("%q: executable file not found in $PATH (%s) of the tree", name, pathEnv)
		}
	}
	out := append([]string(nil), argv...)
	for depth := 0; ; depth++ {
		head, err := readHead(root, p)
		if err != nil {
			return "", nil, err
		}
		if !bytes.HasPrefix(head, []byte("#!")) {
			real, err := guestReal(root, p)
			return real, out, err
		}
		if depth == 4 {
			return "", nil, fmt.Errorf("%s: too many levels of #! interpreters", argv[0])
		}
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return "", nil, fmt.Errorf("%s: empty #! line", p)
		}
		interp := fields[0]
		next := []string{interp}
		if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line)), interp)); rest != "" {
			next = append(next, rest)
		}
		out = append(append(next, p), out[1:]...)
		if err := checkExec(root, interp); err != nil {
			return "", nil, fmt.Errorf("%s: interpreter %s: %w", p, interp, err)
		}
		p = interp
	}
}

// guestReal is the guest path of what p names in root, symlinks resolved.
func guestReal(root, p string) (string, error) {
	h, err := launch.HostPathIn(root, p)
	if err != nil {
		return "", err
	}
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, h)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s resolves outside the tree", p)
	}
	return path.Clean("/" + filepath.ToSlash(rel)), nil
}

func readHead(root, p string) ([]byte, error) {
	h, err := launch.HostPathIn(root, p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := f.Read(b)
	return b[:n], nil
}

// checkExec reports whether p in root is a regular file someone may
// execute.
func checkExec(root, p string) error {
	h, err := launch.HostPathIn(root, p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(h)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return &os.PathError{Op: "exec", Path: p, Err: unix.EACCES}
	}
	return nil
}
