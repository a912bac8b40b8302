package stack

import (
	"io"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// BenchmarkLossyTransfer moves 1 MB from client to server over the
// recovery figures' LAN wire (100 Mbit/s, 5% loss, seed 14), in virtual
// time: the steps of loss recovery (duplicate ACKs, out-of-order data,
// SACK, RACK, PRR, NextSeg, timeouts) are taken many times, where the
// receive-path benchmarks take none of them. "off" has nobody listening
// to the step log; "jsonl" has a JSON Lines sink writing to io.Discard
// (the CPU cost of watching, not the disk's). ns/frame and allocs/frame
// are per frame put on the wire (both directions), the whole run's
// (setup, applications and sinks included), so that the two can be
// compared with each other and across commits.
func BenchmarkLossyTransfer(b *testing.B) {
	for _, logged := range []bool{false, true} {
		name := "off"
		if logged {
			name = "jsonl"
		}
		b.Run(name, func(b *testing.B) {
			const size = 1 << 20
			data := tbBytes(1, size)
			var frames, allocs uint64
			var elapsed time.Duration
			var ms0, ms1 runtime.MemStats
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				p, err := NewPair(TopologyConfig{Seed: 14, Wire: recoveryWire(0)})
				if err != nil {
					b.Fatal(err)
				}
				var jsonl *viz.JSONLSink
				if logged {
					jsonl = viz.NewJSONLSink(io.Discard)
					p.Net.Log.AddSink(jsonl)
				}
				runtime.ReadMemStats(&ms0)
				start := time.Now()
				srv := netip.AddrPortFrom(p.Server.Addr(), 80)
				received := 0
				a := tbRun(b, p.Net)
				l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
					if err := tbConsume(p.Server, fd, 64<<10, func(chunk []byte) { received += len(chunk) }); err != nil {
						return err
					}
					p.Server.Close(fd)
					return p.Server.Close(lfd)
				})
				l.Dial("client", p.Client, func(fd FD) error {
					if _, err := p.Client.Write(fd, data); err != nil {
						return err
					}
					return p.Client.Close(fd)
				})
				a.Wait(nil)
				if jsonl != nil {
					if err := jsonl.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				runtime.ReadMemStats(&ms1)
				if received != size {
					b.Fatalf("received %d bytes", received)
				}
				// Frame IDs are handed out whether or not anybody
				// listens: the next one counts the frames made.
				frames += p.Net.Log.NewFrameID() - 1
				allocs += ms1.Mallocs - ms0.Mallocs
			}
			b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(frames), "ns/frame")
			b.ReportMetric(float64(allocs)/float64(frames), "allocs/frame")
		})
	}
}
