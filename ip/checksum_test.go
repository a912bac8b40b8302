package ip

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveSum is RFC 1071 §4.1's reference loop: 16 bits at a time into a
// 32-bit accumulator, then fold.
func naiveSum(b []byte, initial uint32) uint16 {
	sum := uint64(initial)
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Sum(b, 0); got != 0xddf2 {
		t.Errorf("Sum = 0x%04x, want 0xddf2", got)
	}
	if got := Checksum(b, 0); got != 0x220d {
		t.Errorf("Checksum = 0x%04x, want 0x220d", got)
	}
}

func TestChecksumKnownIPv4Header(t *testing.T) {
	// A classic worked example: 192.168.0.1 -> 192.168.0.199, UDP, DF,
	// TTL 64, total length 115, whose checksum is 0xb861.
	h := []byte{
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	}
	if got := Checksum(h, 0); got != 0xb861 {
		t.Fatalf("Checksum = 0x%04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(h[10:], 0xb861)
	if got := Checksum(h, 0); got != 0 {
		t.Errorf("Checksum over a correct header = 0x%04x, want 0", got)
	}
}

func TestSumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		initial := r.Uint32() >> r.IntN(32)
		if got, want := Sum(b, initial), naiveSum(b, initial); got != want {
			t.Fatalf("len %d, initial 0x%x: Sum = 0x%04x, want 0x%04x", n, initial, got, want)
		}
	}
	// All ones stress the end-around carry at every width.
	ff := make([]byte, 1501)
	for i := range ff {
		ff[i] = 0xff
	}
	if got, want := Sum(ff, 0xffffffff), naiveSum(ff, 0xffffffff); got != want {
		t.Errorf("all ones: Sum = 0x%04x, want 0x%04x", got, want)
	}
}

func TestSumChains(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 999)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for cut := 0; cut <= len(b); cut += 2 {
		if got, want := Sum(b[cut:], uint32(Sum(b[:cut], 0))), Sum(b, 0); got != want {
			t.Fatalf("cut at %d: chained 0x%04x, whole 0x%04x", cut, got, want)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.255.254")
	ph := []byte{10, 0, 0, 1, 192, 168, 255, 254, 0, byte(ProtocolUDP), 0x05, 0xdc}
	if got, want := Sum(nil, PseudoHeaderSum(src, dst, ProtocolUDP, 1500)), Sum(ph, 0); got != want {
		t.Errorf("pseudo-header sum 0x%04x, want 0x%04x", got, want)
	}
}

func TestUpdateChecksumTTL(t *testing.T) {
	// RFC 1624 eqn. 3 must agree with summing the header again, for every
	// TTL and many headers.
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		h := make(IPv4, 20)
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[10:], 0)
		binary.BigEndian.PutUint16(h[10:], Checksum(h, 0))
		for h.TTL() > 0 {
			h.DecrementTTL()
			if got, want := h.HeaderChecksum(), h.ComputeChecksum(); got != want {
				t.Fatalf("header %x: incremental 0x%04x, full 0x%04x", []byte(h), got, want)
			}
		}
	}
	// RFC 1624 §4's example: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives 0x0000.
	if got := UpdateChecksum(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Errorf("RFC 1624 example: 0x%04x, want 0x0000", got)
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		Checksum(buf, 0)
	}
}

func BenchmarkChecksumNaive1500(b *testing.B) {
	buf := make([]byte, 1500)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		naiveSum(buf, 0)
	}
}
