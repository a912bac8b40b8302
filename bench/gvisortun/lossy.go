package main

import (
	"math/rand/v2"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// lossyEndpoint loses each packet, in and out, with probability p, drawn
// from a seeded generator: the same loss model as packetwalk serve's
// --loss (every frame between the device and the NIC, both ways), so that
// bench/run compares the two stacks' recovery on equal terms.
type lossyEndpoint struct {
	nested.Endpoint
	p   float64
	mu  sync.Mutex
	rng *rand.Rand
}

func newLossyEndpoint(child stack.LinkEndpoint, p float64, seed uint64) *lossyEndpoint {
	e := &lossyEndpoint{p: p, rng: rand.New(rand.NewPCG(seed, 0x6c6f7373))}
	e.Endpoint.Init(child, e)
	return e
}

func (e *lossyEndpoint) lose() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rng.Float64() < e.p
}

// DeliverNetworkPacket passes an arriving packet up unless it is lost.
func (e *lossyEndpoint) DeliverNetworkPacket(protocol tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if e.lose() {
		return
	}
	e.Endpoint.DeliverNetworkPacket(protocol, pkt)
}

// WritePackets writes the packets that are not lost; the lost ones count
// as written, as a frame lost on the wire was sent.
func (e *lossyEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	var keep stack.PacketBufferList
	for _, pkt := range pkts.AsSlice() {
		if !e.lose() {
			keep.PushBack(pkt.IncRef())
		}
	}
	defer keep.DecRef()
	if keep.Len() > 0 {
		if n, err := e.Endpoint.WritePackets(keep); err != nil {
			return n, err
		}
	}
	return pkts.Len(), nil
}
