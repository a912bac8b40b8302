package phy

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// levels renders levels as the Wave does: '+', '-', '0'.
func levels(ls []Level) string {
	b := make([]byte, len(ls))
	for i, l := range ls {
		b[i] = levelChar(l)
	}
	return string(b)
}

// The 4B/5B code groups of IEEE 802.3 Table 24-1, as the standard prints
// them (bit 4 first).
func TestCodeGroupsAreTable24_1(t *testing.T) {
	want := []string{"11110", "01001", "10100", "10101", "01010", "01011", "01110", "01111",
		"10010", "10011", "10110", "10111", "11010", "11011", "11100", "11101"}
	for n, w := range want {
		if got := groupString(dataGroups[n]); got != w {
			t.Errorf("nibble %X: code group %s, Table 24-1 says %s", n, got, w)
		}
		if nib, kind := decodeGroup(dataGroups[n]); kind != groupData || int(nib) != n {
			t.Errorf("code group %s decodes to %X (kind %d), want %X", w, nib, kind, n)
		}
	}
	for name, c := range map[string]struct {
		g    uint8
		want string
	}{"I": {groupI, "11111"}, "J": {groupJ, "11000"}, "K": {groupK, "10001"}, "T": {groupT, "01101"}, "R": {groupR, "00111"}, "H": {groupH, "00100"}} {
		if got := groupString(c.g); got != c.want {
			t.Errorf("/%s/ is %s, Table 24-1 says %s", name, got, c.want)
		}
	}
	// The other 32-16-6 groups are invalid, Quiet (00000) among them.
	invalid := 0
	for g := 0; g < 32; g++ {
		if _, kind := decodeGroup(uint8(g)); kind == groupInvalid {
			invalid++
		}
	}
	if invalid != 11 {
		t.Errorf("%d invalid code groups, want 11 (32 less 16 data, I, J, K, T, R; H and Q are among them)", invalid)
	}
}

// An octet is two code groups, the low nibble first; J/K replaces the
// preamble's first octet and T/R follows the frame.
func TestFourB5BStream(t *testing.T) {
	sig := Encode(FourB5BNRZI, []byte{0x5D})
	// Undo NRZI: a 1 is a change of level.
	var line strings.Builder
	prev := Level(-1)
	for _, l := range sig.Levels {
		line.WriteByte('0' + boolBit(l != prev))
		prev = l
	}
	want := strings.Repeat("11111", idleLeadGroups) + "11000" + "10001" +
		strings.Repeat("01011"+"01011", PreambleLen-1) + // 0x55: 5, 5
		"11011" + "01011" + // 0xD5: D then... low nibble 5 first
		"11011" + "01011" + // 0x5D: low nibble D, then 5
		"01101" + "00111" + strings.Repeat("11111", idleTrailGroups)
	// 0xD5's low nibble is 5, high D: fix the expectation's order.
	want = strings.Replace(want, "11011"+"01011"+"11011", "01011"+"11011"+"11011", 1)
	if got := line.String(); got != want {
		t.Errorf("4B/5B line bits\n got %s\nwant %s", got, want)
	}
}

// Manchester as IEEE 802.3 clause 7.3.1.1 has it: a 1 is low then high,
// a 0 high then low. The preamble (bits 1,0,1,0,... as 0x55 goes LSB
// first) is then a square wave with edges only mid-bit, and the SFD's
// closing 1,1 puts an edge on the bit boundary.
func TestManchesterIEEEConvention(t *testing.T) {
	sig := Encode(Manchester, []byte{0x01})
	got := levels(sig.Levels)
	if !strings.HasPrefix(got, "-++--++-") {
		t.Errorf("preamble starts %s, want -++--++- (1 = low-high, 0 = high-low)", got[:8])
	}
	sfd := got[sig.SFDBaud:sig.FrameBaud]
	if sfd != "-++--++--++--+-+" {
		t.Errorf("SFD 0xD5 is %s, want -++--++--++--+-+ (bits 10101011)", sfd)
	}
	// 0x01 sent LSB first: 1, then seven 0s.
	if frame := got[sig.FrameBaud:]; frame != "-+"+strings.Repeat("+-", 7) {
		t.Errorf("0x01 is %s", frame)
	}
	if sig.Bauds() != (PreambleLen+2)*16 {
		t.Errorf("%d baud, want %d: two per bit", sig.Bauds(), (PreambleLen+2)*16)
	}
}

func TestNRZIAndMLT3(t *testing.T) {
	// IDLE (11111) is a transition on every baud: NRZI alternates, MLT-3
	// walks its cycle 0,+1,0,-1 (starting from 0, the first 1 goes to +1).
	nrzi := levels(Encode(FourB5BNRZI, nil).Levels[:8])
	if nrzi != "+-+-+-+-" {
		t.Errorf("NRZI of IDLE: %s", nrzi)
	}
	mlt := levels(Encode(FourB5BMLT3, nil).Levels[:8])
	if mlt != "+0-0+0-0" {
		t.Errorf("MLT-3 of IDLE: %s", mlt)
	}
}

func TestNRZLongestRun(t *testing.T) {
	frame := make([]byte, 20) // 160 zero bits
	frame[0] = 0xff
	if run := Encode(NRZ, frame).LongestRun; run != 19*8 {
		t.Errorf("NRZ longest run %d, want %d", run, 19*8)
	}
	if run := Encode(Manchester, frame).LongestRun; run != 2 {
		t.Errorf("Manchester longest run %d, want 2", run)
	}
	if run := Encode(FourB5BNRZI, frame).LongestRun; run > 4 {
		t.Errorf("4B/5B NRZI longest run %d, want at most 4 (three 0s in a row)", run)
	}
}

var allCodes = []Code{Manchester, NRZ, FourB5BNRZI, FourB5BMLT3}

func randomFrame(rng *rand.Rand) []byte {
	b := make([]byte, 60+rng.IntN(200))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Without noise, jitter or drift, every code gives the bytes back.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, code := range allCodes {
		for i := 0; i < 30; i++ {
			frame := randomFrame(rng)
			r := Receive(Encode(code, frame), Config{Code: code}, rand.New(rand.NewPCG(uint64(i), 9)))
			if r.Drop != NoDrop || !bytes.Equal(r.Frame, frame) {
				t.Fatalf("%v, frame %d (%d bytes): drop %d (%s), %d bytes back, equal %v", code, i, len(frame), r.Drop, r.Why, len(r.Frame), bytes.Equal(r.Frame, frame))
			}
			if r.SymbolErrors != 0 || r.Slips != 0 || r.BitErrors != 0 {
				t.Fatalf("%v: %d symbol errors, %d slips, %d bit errors on a clean line", code, r.SymbolErrors, r.Slips, r.BitErrors)
			}
		}
	}
}

// Drift within the loop's range is tracked: the recovered clock follows
// the sender's wherever the code has transitions often enough.
func TestBoundedDriftRecovered(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, code := range []Code{Manchester, FourB5BNRZI, FourB5BMLT3} {
		for _, ppm := range []float64{-20000, -5000, 200, 5000, 20000} {
			for i := 0; i < 10; i++ {
				frame := make([]byte, 1518) // zeros: the worst case for a clock
				if i > 0 {
					frame = randomFrame(rng)
				}
				r := Receive(Encode(code, frame), Config{Code: code, DriftPPM: ppm, Jitter: 0.03}, rand.New(rand.NewPCG(uint64(i), 5)))
				if r.Drop != NoDrop || !bytes.Equal(r.Frame, frame) || r.Slips != 0 {
					t.Fatalf("%v at %v ppm, frame %d: drop %d (%s), %d slips, %d bit errors", code, ppm, i, r.Drop, r.Why, r.Slips, r.BitErrors)
				}
			}
		}
	}
}

// NRZ has no transitions in a run of zeros: with drift the receiver's
// clock slides off and samples a baud twice or skips one.
func TestNRZSlipsOnLongRuns(t *testing.T) {
	frame := make([]byte, 100)
	frame[0] = 0x0f
	r := Receive(Encode(NRZ, frame), Config{Code: NRZ, DriftPPM: 20000}, rand.New(rand.NewPCG(1, 1)))
	if r.Drop != NoDrop {
		t.Fatalf("dropped (%s); the preamble should lock", r.Why)
	}
	if r.Slips == 0 || bytes.Equal(r.Frame, frame) {
		t.Errorf("NRZ with 2%% drift over %d zero bits: %d slips, frame intact %v", 99*8, r.Slips, bytes.Equal(r.Frame, frame))
	}
	// The same frame in Manchester arrives intact.
	m := Receive(Encode(Manchester, frame), Config{Code: Manchester, DriftPPM: 20000}, rand.New(rand.NewPCG(1, 1)))
	if m.Drop != NoDrop || !bytes.Equal(m.Frame, frame) {
		t.Errorf("Manchester with 2%% drift: drop %d (%s), intact %v", m.Drop, m.Why, bytes.Equal(m.Frame, frame))
	}
}

// Noise flips samples: a good signal-to-noise ratio gives no errors, a bad
// one symbol errors that reach the frame's bits.
func TestNoise(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(5, 5)))
	clean := Receive(Encode(Manchester, frame), Config{Code: Manchester, Noise: NoiseForSNR(20)}, rand.New(rand.NewPCG(1, 1)))
	if clean.Drop != NoDrop || clean.SymbolErrors != 0 || !bytes.Equal(clean.Frame, frame) {
		t.Errorf("SNR 20 dB: drop %d, %d symbol errors", clean.Drop, clean.SymbolErrors)
	}
	noisy := Receive(Encode(Manchester, frame), Config{Code: Manchester, Noise: NoiseForSNR(8)}, rand.New(rand.NewPCG(1, 1)))
	if noisy.SymbolErrors == 0 || (noisy.Drop == NoDrop && noisy.BitErrors == 0) {
		t.Errorf("SNR 8 dB: %d symbol errors, %d bit errors, drop %d", noisy.SymbolErrors, noisy.BitErrors, noisy.Drop)
	}
	// The same seed gives the same result.
	again := Receive(Encode(Manchester, frame), Config{Code: Manchester, Noise: NoiseForSNR(8)}, rand.New(rand.NewPCG(1, 1)))
	if again.SymbolErrors != noisy.SymbolErrors || !bytes.Equal(again.Frame, noisy.Frame) || again.Wave.Got != noisy.Wave.Got {
		t.Errorf("same seed, different outcome: %d vs %d symbol errors", again.SymbolErrors, noisy.SymbolErrors)
	}
}

func TestNoLock(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(5, 5)))
	r := Receive(Encode(Manchester, frame), Config{Code: Manchester, Noise: NoiseForSNR(-6)}, rand.New(rand.NewPCG(1, 1)))
	if r.Drop != DropNoLock {
		t.Errorf("SNR -6 dB: drop %d (%s), want no lock", r.Drop, r.Why)
	}
}

func TestSFDMissing(t *testing.T) {
	frame := make([]byte, 64)
	sig := Encode(NRZ, frame)
	sig.Levels[sig.FrameBaud-1] = -1 // the SFD's last bit: 10101010, one more preamble octet
	r := Receive(sig, Config{Code: NRZ}, rand.New(rand.NewPCG(1, 1)))
	if r.Drop != DropSFDMissing {
		t.Errorf("damaged SFD: drop %d (%s), want SFD missing", r.Drop, r.Why)
	}
}

func TestInvalidCodeGroup(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(7, 7)))
	sig := Encode(FourB5BNRZI, frame)
	// Hold the level for the frame's first code group: 00000, Quiet,
	// which carries no data.
	for i := sig.FrameBaud; i < sig.FrameBaud+5; i++ {
		sig.Levels[i] = sig.Levels[sig.FrameBaud-1]
	}
	r := Receive(sig, Config{Code: FourB5BNRZI}, rand.New(rand.NewPCG(1, 1)))
	if r.Drop != DropSymbolError || r.CodeGroupBad != 1 {
		t.Errorf("00000 in the frame: drop %d (%s), %d bad groups, want a symbol error", r.Drop, r.Why, r.CodeGroupBad)
	}
}

func TestWave(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(7, 7)))
	r := Receive(Encode(Manchester, frame), Config{Code: Manchester}, rand.New(rand.NewPCG(1, 1)))
	w := r.Wave
	if len(w.Sent) != w.FrameBaud+14*16 || len(w.Ticks) != len(w.Sent) || len(w.Got) != len(w.Sent) {
		t.Fatalf("wave lengths %d %d %d, frame at %d", len(w.Sent), len(w.Ticks), len(w.Got), w.FrameBaud)
	}
	// Once locked, every baud is sampled once, near its middle, and right.
	for i := w.LockBaud + 1; i < len(w.Sent); i++ {
		if w.Ticks[i] < '2' || w.Ticks[i] > '7' || w.Got[i] != w.Sent[i] {
			t.Fatalf("baud %d: tick %c, got %c, sent %c", i, w.Ticks[i], w.Got[i], w.Sent[i])
		}
	}
}

func TestParseAndValidate(t *testing.T) {
	for _, n := range Codes() {
		c, err := ParseCode(n)
		if err != nil || c.String() != n {
			t.Errorf("ParseCode(%q) = %v, %v", n, c, err)
		}
	}
	if _, err := ParseCode("4b5b"); err == nil || !strings.Contains(err.Error(), "manchester") {
		t.Errorf("ParseCode(4b5b): %v", err)
	}
	for _, bad := range []Config{{DriftPPM: 2e5}, {Jitter: 0.5}, {Jitter: -1}, {Noise: -1}, {SamplesPerBaud: 2}, {LockTransitions: 100}, {LoopGain: 2}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v is valid", bad)
		}
	}
}

// FuzzRoundTrip: for any frame, any receiver phase (the generator's seed)
// and a drift within the loop's range, every code gives the bytes back on
// a noiseless line, without a slip; NRZ only without drift, since a run
// of equal bits carries no clock.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0x00, 0xff, 0x55, 0xd5}, uint64(1), int16(0))
	f.Add(make([]byte, 64), uint64(7), int16(20000))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint64(3), int16(-15000))
	f.Fuzz(func(t *testing.T, frame []byte, seed uint64, ppm int16) {
		if len(frame) > 1518 {
			frame = frame[:1518]
		}
		// |drift| <= 2%: the range TestBoundedDriftRecovered holds.
		drift := float64(ppm) * 20000 / 32768
		for _, code := range allCodes {
			d := drift
			if code == NRZ {
				d = 0
			}
			r := Receive(Encode(code, frame), Config{Code: code, DriftPPM: d}, rand.New(rand.NewPCG(seed, 11)))
			if r.Drop != NoDrop || !bytes.Equal(r.Frame, frame) || r.Slips != 0 || r.SymbolErrors != 0 {
				t.Fatalf("%v, %d bytes, drift %.0f ppm: drop %d (%s), %d slips, %d symbol errors, intact %v",
					code, len(frame), d, r.Drop, r.Why, r.Slips, r.SymbolErrors, bytes.Equal(r.Frame, frame))
			}
		}
	})
}
