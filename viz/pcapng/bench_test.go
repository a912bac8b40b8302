package pcapng

import (
	"io"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

// BenchmarkWriteFrame measures one frame's way through the Writer as the
// stack drives it: two steps of the sender's upper layers and its NIC, the
// outbound capture and EndWalk; then the receiver's capture, three steps
// and EndWalk. Each iteration writes two Enhanced Packet Blocks.
func BenchmarkWriteFrame(b *testing.B) {
	w, err := New(io.Discard, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := frame(serverMAC, clientMAC, "a 46-byte payload, padded by AppendFrame", false)
	sent := []viz.Event{
		{Host: "client", Layer: viz.LayerTCP, Step: "send", Verdict: viz.Send, Msg: "segment seq 1000, 40 bytes"},
		{Host: "client", Layer: viz.LayerIP, Step: "output", Verdict: viz.Send, Msg: "10.0.0.2 -> 10.0.0.1, proto 6"},
		{Host: "client", Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Msg: "eth0 sends 64 bytes"},
	}
	received := []viz.Event{
		{Host: "server", Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Msg: "FCS ok"},
		{Host: "server", Layer: viz.LayerIP, Step: "header", Verdict: viz.Pass, Msg: "checksum ok, mine, proto 6"},
		{Host: "server", Layer: viz.LayerTCP, Step: "data", Verdict: viz.Deliver, Msg: "in order, 40 bytes"},
	}
	out := viz.CapturedFrame{Host: "client", NIC: "eth0", MAC: clientMAC.String(), Dir: viz.Outbound, Data: data}
	in := viz.CapturedFrame{Host: "server", NIC: "eth0", MAC: serverMAC.String(), Dir: viz.Inbound, Data: data}
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(data)))
	for i := range b.N {
		id := uint64(i + 1)
		for j := range sent {
			sent[j].Frame = id
			w.Event(&sent[j])
		}
		out.Frame = id
		w.Capture(&out)
		w.EndWalk("client", id)
		in.Frame = id
		w.Capture(&in)
		for j := range received {
			received[j].Frame = id
			w.Event(&received[j])
		}
		w.EndWalk("server", id)
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
