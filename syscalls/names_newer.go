package syscalls

// Syscalls newer than the kernel headers names.go is generated from
// (Debian 12's, Linux 6.1): programs built against newer headers call
// them, and glibc tries fchmodat2 before falling back.
func init() {
	for nr, name := range map[uint64]string{
		451: "cachestat", 452: "fchmodat2", 453: "map_shadow_stack", 454: "futex_wake",
		455: "futex_wait", 456: "futex_requeue", 457: "statmount", 458: "listmount",
		459: "lsm_get_self_attr", 460: "lsm_set_self_attr", 461: "lsm_list_modules", 462: "mseal",
	} {
		if _, ok := linuxNames[nr]; !ok {
			linuxNames[nr] = name
		}
	}
}
