package kernel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
)

// Env is the environment variable through which the monitor tells the
// guest kernel its machine: "ram=BYTES,pool=FIRST-END,root=GPA" (guest RAM
// size, the frames the kernel may hand out, its page table's root; the
// app's user root is root+4 KiB).
const Env = "RUMPGO_GUEST_KERNEL"

// Params are what Env carries.
type Params struct {
	RAM, PoolStart, PoolEnd, Root uint64
}

func (p Params) String() string {
	return fmt.Sprintf("ram=%d,pool=%#x-%#x,root=%#x", p.RAM, p.PoolStart, p.PoolEnd, p.Root)
}

// ParseParams reads Env's value; every field is required.
func ParseParams(s string) (Params, error) {
	var p Params
	seen := 0
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "ram":
			p.RAM, err = strconv.ParseUint(v, 0, 64)
		case "pool":
			a, b, _ := strings.Cut(v, "-")
			if p.PoolStart, err = strconv.ParseUint(a, 0, 64); err == nil {
				p.PoolEnd, err = strconv.ParseUint(b, 0, 64)
			}
		case "root":
			p.Root, err = strconv.ParseUint(v, 0, 64)
		default:
			return p, fmt.Errorf("%s: unknown field %q", Env, k)
		}
		if err != nil {
			return p, fmt.Errorf("%s: %s: %v", Env, k, err)
		}
		seen++
	}
	if seen != 3 || p.PoolStart >= p.PoolEnd || p.PoolEnd > p.RAM || p.Root%(2*boot.PageSize) != 0 || p.Root+2*boot.PageSize > p.RAM {
		return p, fmt.Errorf("%s=%q: want ram, pool and root, inside RAM", Env, s)
	}
	return p, nil
}
