package pcapng

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestAppendEPBMatchesPcapgo checks that our Enhanced Packet Block encoder
// writes the bytes pcapgo's NgWriter wrote for the same packet and
// options, for data and comments of every length modulo 4, with and
// without a packet ID, so that files keep their form (and the goldens and
// determinism tests their bytes).
func TestAppendEPBMatchesPcapgo(t *testing.T) {
	ts := time.Date(2000, 1, 1, 0, 0, 1, 234567891, time.UTC)
	for dataLen := 60; dataLen < 64; dataLen++ {
		for commentLen := 5; commentLen < 9; commentLen++ {
			for _, id := range []uint64{0, 77} {
				data := bytes.Repeat([]byte{0xab}, dataLen)
				comment := bytes.Repeat([]byte{'c'}, commentLen)
				flags := pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound, FCSLen: pcapgo.NewNgEpbFlagFCSLength(4)}

				var ref bytes.Buffer
				ng, err := pcapgo.NewNgWriterInterface(&ref, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if err := ng.Flush(); err != nil {
					t.Fatal(err)
				}
				head := ref.Len()
				opts := pcapgo.NgPacketOptions{Comments: []string{string(comment)}, Flags: &flags}
				if id != 0 {
					opts.PacketID = &id
				}
				ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: dataLen, Length: dataLen + 100, InterfaceIndex: 0}
				if err := ng.WritePacketWithOptions(ci, data, opts); err != nil {
					t.Fatal(err)
				}
				if err := ng.Flush(); err != nil {
					t.Fatal(err)
				}
				want := ref.Bytes()[head:]

				got := appendEPB([]byte("x"), epb{iface: 0, ts: ts.UnixNano(), data: data, origLen: dataLen + 100,
					comments: [][]byte{comment}, flags: flags.ToUint32(), packetID: id})
				if !bytes.Equal(got[1:], want) {
					t.Errorf("data %d, comment %d, id %d:\n got %x\nwant %x", dataLen, commentLen, id, got[1:], want)
				}
			}
		}
	}
}
