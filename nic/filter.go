package nic

// StandardFilter is the NIC's own FrameFilter: the FCS check with the
// standard library's CRC-32 and the destination-MAC filter. Config.Filter
// nil means this.
type StandardFilter struct{}

// CheckFCS implements FrameFilter.
func (StandardFilter) CheckFCS(frame []byte) (carried, computed uint32, ok bool) {
	f := Frame(frame)
	carried, computed = f.FCS(), f.ComputeFCS()
	return carried, computed, carried == computed
}

// Classify implements FrameFilter. The NIC's own address first (a
// promiscuous NIC still knows its own frames), then broadcast, then the
// groups joined (a multicast destination is not for us unless we joined its
// group), and only then promiscuous mode, which takes the rest.
func (StandardFilter) Classify(dst MAC, s FilterState) (Class, bool) {
	switch {
	case dst == s.Own:
		return ClassHost, true
	case dst.IsBroadcast():
		return ClassBroadcast, true
	case dst.IsMulticast() && s.Groups[dst]:
		return ClassMulticast, true
	case s.Promiscuous:
		return ClassOtherHost, true
	}
	return 0, false
}
