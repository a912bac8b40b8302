package pcapng

import (
	"encoding/binary"
	"errors"
	"io"
	"net"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/viz"
)

// pcapgo's NgWriter encodes the blocks, but its NgInterface has no field
// for two options this file needs, so they are spliced into the Interface
// Description Blocks it writes (draft-ietf-opsawg-pcapng, 4.2):
//
//   - if_fcslen says the interface's frames end with a 4-byte FCS, so that
//     a reader does not take the FCS for payload (each packet's epb_flags
//     says so too);
//   - if_MACaddr is the NIC's own address.
//
// And pcapgo writes a first IDB as soon as it is made, while packetwalk
// learns its NICs only as they capture: New makes the NgWriter with a
// placeholder interface and keeps that IDB out of the file (see New).
const (
	blockTypeSHB = 0x0A0D0D0A // draft 4.1 "Section Header Block"
	blockTypeIDB = 0x00000001 // draft 4.2 "Interface Description Block"

	optIfMACaddr = 6  // if_MACaddr: 6 octets
	optIfFCSLen  = 13 // if_fcslen: 1 octet

	// ifFCSLenBits is the value of if_fcslen: the draft (4.2) counts it
	// in bits, unlike the FCS length in epb_flags, which is in octets
	// (4.3.1). Readers long disagreed (pcapng spec issue #60); Wireshark
	// reads bits since its merge request 13008, and tshark 4.0 finds the
	// FCS with 32 as well. Every packet's epb_flags carries the length
	// too, which Wireshark prefers to the interface's.
	ifFCSLenBits = 8 * fcsLen

	// fcsLen is the Ethernet FCS length in octets (IEEE 802.3 3.2.9).
	fcsLen = 4
)

// tap sits between pcapgo's NgWriter and the output. It passes bytes
// through, except while hold is set: then it keeps them, so that the
// writer can edit the blocks pcapgo has just produced before they reach
// the file.
type tap struct {
	w    io.Writer
	hold bool
	held []byte
}

func (t *tap) Write(b []byte) (int, error) {
	if t.hold {
		t.held = append(t.held, b...)
		return len(b), nil
	}
	return t.w.Write(b)
}

// take returns the held bytes and forgets them.
func (t *tap) take() []byte {
	b := t.held
	t.held = nil
	return b
}

// produce runs f, which makes pcapgo write whole blocks, and returns
// those blocks instead of writing them. What pcapgo had buffered before
// goes to the output first, so the file keeps its order.
func (w *Writer) produce(f func() error) ([]byte, error) {
	// Packets of our own encoding (epb.go) go out first too.
	if err := w.bw.Flush(); err != nil {
		return nil, err
	}
	if err := w.ng.Flush(); err != nil {
		return nil, err
	}
	w.out.hold = true
	err := f()
	if err == nil {
		err = w.ng.Flush()
	}
	w.out.hold = false
	b := w.out.take()
	return b, err
}

// nicKey names a NIC: its host and its name there.
type nicKey struct{ host, nic string }

// interfaceFor returns the ID of the file's interface for the NIC that
// captured f, writing its IDB the first time. IDs count from 0 in the order
// the IDBs appear, as the draft (4.2) defines them.
func (w *Writer) interfaceFor(f *viz.CapturedFrame) (int, error) {
	k := nicKey{f.Host, f.NIC}
	if id, ok := w.nics[k]; ok {
		return id, nil
	}
	// A new NIC: its host's names go into the file before its first
	// packet (and, for the first NIC, before any packet).
	w.writeNames()
	name, desc := f.NIC, "packetwalk NIC "+f.NIC
	if f.Host != "" {
		name = f.Host + "/" + f.NIC
		desc += " of host " + f.Host
	}
	if f.MAC != "" {
		desc += ", MAC " + f.MAC
	}
	intf := pcapgo.NgInterface{
		Name:        string(appendText(nil, name)),
		Description: string(appendText(nil, desc)),
		LinkType:    layers.LinkTypeEthernet,
		SnapLength:  uint32(w.cfg.SnapLen),
	}
	extra := appendOption(nil, optIfFCSLen, []byte{ifFCSLenBits})
	if mac, err := net.ParseMAC(f.MAC); err == nil && len(mac) == 6 {
		extra = appendOption(extra, optIfMACaddr, mac)
	}
	block, err := w.produce(func() error {
		_, err := w.ng.AddInterface(intf)
		return err
	})
	if err == nil {
		block, err = spliceOptions(block, extra)
	}
	if err == nil {
		_, err = w.out.w.Write(block)
	}
	if err != nil {
		return 0, err
	}
	// pcapgo numbers this interface one higher, because of the
	// placeholder New withheld; it uses the number only to reject IDs it
	// never gave out, and every ID given here is below its count.
	id := len(w.nics)
	w.nics[k] = id
	return id, nil
}

// appendOption appends one option in the draft's TLV form (3.5): code and
// length in 16 bits each, then the value padded to 32 bits. Files from
// pcapgo are little-endian, so these are too.
func appendOption(b []byte, code uint16, value []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	b = append(b, value...)
	for range (4 - len(value)%4) % 4 {
		b = append(b, 0)
	}
	return b
}

var errBlock = errors.New("pcapng: pcapgo wrote an Interface Description Block this package cannot extend")

// spliceOptions returns the IDB block with the encoded options extra
// inserted before its opt_endofopt, and both copies of its length updated
// (draft 3.1 "General Block Structure": type, total length, body, total
// length again).
func spliceOptions(block, extra []byte) ([]byte, error) {
	const minIDB = 8 + 8 + 4 + 4 // header, link type and snaplen, opt_endofopt, trailer
	if len(block) < minIDB ||
		binary.LittleEndian.Uint32(block[0:4]) != blockTypeIDB ||
		binary.LittleEndian.Uint32(block[4:8]) != uint32(len(block)) {
		return nil, errBlock
	}
	// pcapgo always writes if_tsresol, so the options end with
	// opt_endofopt: code 0, length 0.
	end := len(block) - 8
	if binary.LittleEndian.Uint32(block[end:end+4]) != 0 {
		return nil, errBlock
	}
	out := make([]byte, 0, len(block)+len(extra))
	out = append(out, block[:end]...)
	out = append(out, extra...)
	out = append(out, 0, 0, 0, 0) // opt_endofopt
	total := uint32(len(out) + 4)
	binary.LittleEndian.PutUint32(out[4:8], total)
	return binary.LittleEndian.AppendUint32(out, total), nil
}

// firstBlock returns the first block of b, which must be a Section Header
// Block.
func firstBlock(b []byte) ([]byte, error) {
	if len(b) < 12 || binary.LittleEndian.Uint32(b[0:4]) != blockTypeSHB {
		return nil, errors.New("pcapng: pcapgo did not start with a Section Header Block")
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n < 12 || uint64(n) > uint64(len(b)) {
		return nil, errors.New("pcapng: pcapgo wrote a Section Header Block of a bad length")
	}
	return b[:n], nil
}
