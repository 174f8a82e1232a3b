package mm

// ReadResident copies the page holding addr into dst (at most a page, from
// addr's offset in it) when the page is resident, without faulting it in:
// for core dumps, which must neither allocate the untouched parts of large
// anonymous mappings nor read files. It reports whether the page was there.
func (as *AddressSpace) ReadResident(addr uint64, dst []byte) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	pa, _, ok := as.pager.Translate(addr)
	if !ok {
		return false
	}
	off := addr % PageSize
	copy(dst, as.pager.Bytes(pa+off, PageSize-off))
	return true
}
