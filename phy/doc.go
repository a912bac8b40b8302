// Package phy is the LAN adapter's physical layer as a signal: the
// frame's bits are line-coded into a waveform on the sender, and on the
// receiver a clock is recovered from that waveform, the bits are sampled
// where the recovered clock says, and the frame is found after its
// preamble and start-of-frame delimiter. It is what the seed's receive path
// means by "the LAN adapter converts the received signal to digital data"
// (How Network Works, ch. 6): the signal combines the data with a clock,
// the adapter extracts the clock and reads the bits with its timing, and
// only then does the FCS check run.
//
// The model is off by default (Code Off); package wire runs it per wire
// when one is chosen. Its walk, in the order a frame meets it:
//
//	sender    encode      preamble (7 x 0x55) + SFD (0xD5) + frame, each
//	                      octet least significant bit first, line-coded
//	                      (linecode.go, fourbfive.go, preamble.go)
//	medium    the signal  edge jitter, the receiver's clock drift and
//	                      Gaussian noise on every sample (channel.go)
//	receiver  preamble    an edge-tracking sampler (a digital PLL) locks
//	                      on the preamble's transitions (clock.go)
//	                        -> phy_no_lock
//	          sfd         the start-of-frame delimiter is found
//	                        -> phy_sfd_missing
//	          decode      bits sampled at the recovered clock's ticks,
//	                      symbol errors and bit slips counted
//	                        -> phy_symbol_error (an invalid 4B5B code group)
//
// What the receiver decodes goes to the NIC, whose FCS check catches what
// noise and slips did to the bits. The simulator sees both clocks, so the
// decode step also counts what a real receiver cannot know: how many
// sampled symbols were wrong and how many bauds were sampled twice or
// skipped (slips).
//
// Everything random is drawn from a generator the caller seeds, so the same
// seed gives the same waveform, the same errors and the same step log.
package phy
