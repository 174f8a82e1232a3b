package gdbstub

// GDB's remote protocol numbers signals its own way (gdb/signals.def):
// the same as Linux's up to 15 but for SIGBUS, SIGUSR1 and SIGUSR2, then
// different.
var linuxToGDB = [65]int{
	1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 10, 8: 8, 9: 9, 10: 30, 11: 11, 12: 31, 13: 13, 14: 14, 15: 15,
	16: 143, // SIGSTKFLT: GDB_SIGNAL_UNKNOWN
	17: 20, 18: 19, 19: 17, 20: 18, 21: 21, 22: 22, 23: 16, 24: 24, 25: 25, 26: 26, 27: 27, 28: 28,
	29: 23, 30: 32, 31: 12,
	32: 77, // GDB_SIGNAL_REALTIME_32; 33..63 are GDB_SIGNAL_REALTIME_33.. = 45..
}

func init() {
	for s := 33; s <= 63; s++ {
		linuxToGDB[s] = s + 12
	}
	for l, g := range linuxToGDB {
		if g != 0 && g != 143 {
			gdbToLinux[g] = l
		}
	}
}

var gdbToLinux = map[int]int{}

// toGDB is Linux signal sig in gdb's numbering.
func toGDB(sig int) int {
	if sig <= 0 || sig >= len(linuxToGDB) {
		return 0
	}
	return linuxToGDB[sig]
}

// toLinux is gdb's signal number g as Linux's; 0 when Linux has none.
func toLinux(g int) int { return gdbToLinux[g] }
