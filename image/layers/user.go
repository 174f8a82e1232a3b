package layers

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rumpgo/rumpgo/launch"
)

// ResolveUser turns an image config's User — NAME, UID, NAME:GROUP,
// UID:GID and the mixes — into the numeric UID:GID the image manifest
// holds, through the tree's /etc/passwd and /etc/group as runc does: a
// name must be listed; a UID without a group takes its passwd entry's
// group, or 0 when it has none. "" stays "" (root).
func ResolveUser(root, user string) (string, error) {
	if user == "" {
		return "", nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	passwd := readDB(root, "/etc/passwd")
	uid, gid := -1, 0
	if n, err := strconv.ParseUint(u, 10, 32); err == nil {
		uid = int(n)
		for _, f := range passwd {
			if len(f) > 3 && f[2] == u {
				if n, err := strconv.Atoi(f[3]); err == nil {
					gid = n
				}
				break
			}
		}
	} else {
		for _, f := range passwd {
			if len(f) > 3 && f[0] == u {
				a, err1 := strconv.Atoi(f[2])
				b, err2 := strconv.Atoi(f[3])
				if err1 != nil || err2 != nil {
					return "", fmt.Errorf("user %q: bad /etc/passwd line", u)
				}
				uid, gid = a, b
				break
			}
		}
		if uid < 0 {
			return "", fmt.Errorf("user %q: no such user in the image's /etc/passwd", u)
		}
	}
	if hasGroup {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			gid = int(n)
		} else {
			found := false
			for _, f := range readDB(root, "/etc/group") {
				if len(f) > 2 && f[0] == g {
					n, err := strconv.Atoi(f[2])
					if err != nil {
						return "", fmt.Errorf("group %q: bad /etc/group line", g)
					}
					gid, found = n, true
					break
				}
			}
			if !found {
				return "", fmt.Errorf("group %q: no such group in the image's /etc/group", g)
			}
		}
	}
	return fmt.Sprintf("%d:%d", uid, gid), nil
}

// readDB reads a colon-separated database of the tree, nil when absent.
func readDB(root, p string) [][]string {
	h, err := launch.HostPathIn(root, p)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(h)
	if err != nil {
		return nil
	}
	var out [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Split(line, ":"))
		}
	}
	return out
}
