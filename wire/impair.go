package wire

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Impairments are the random things a simulated wire does to frames. Each
// is a probability from 0 to 1, decided independently for every delivery
// (every copy of a frame on its way to one port) with numbers drawn from one
// generator seeded with Seed. The same seed and the same traffic give the
// same decisions in the same order, so a run can be replayed exactly.
//
// Every delivery draws the same numbers whatever the probabilities are
// (when any of them is non-zero), so turning one impairment on does not
// reshuffle where the others strike: --loss 0.1 --seed 7 corrupts the same
// deliveries as --seed 7 alone, as long as the traffic is the same.
type Impairments struct {
	// Loss is the probability that a delivery never arrives (wire_loss).
	Loss float64
	// Duplicate is the probability that the port receives a second,
	// undamaged copy right after the first. The copy gets a new frame ID,
	// so that each copy's walk can be followed; its "duplicate" step names
	// the original in dup_of.
	Duplicate float64
	// Reorder is the probability that a delivery is held back by
	// ReorderDelay, so that frames sent after it overtake it.
	Reorder float64
	// Corrupt is the probability that one bit of a delivery is flipped,
	// anywhere in the frame including its FCS. One bit, as Linux's netem
	// does: CRC-32 is guaranteed to catch every single-bit error, so the
	// receiving NIC drops the frame with fcs_mismatch, which is the lesson.
	Corrupt float64
	// Seed seeds the generator. Two runs with the same seed and the same
	// traffic make the same decisions.
	Seed int64
	// ReorderDelay is the extra delay of a reordered delivery. 0 means
	// three times the wire's latency plus the frame's serialization time:
	// long enough that the frames sent just after it (a TCP flight) arrive
	// first.
	ReorderDelay time.Duration
}

// Validate checks that every probability is between 0 and 1 and that the
// reorder delay is not negative. Its errors are one sentence that names the
// command-line flag, e.g. "--loss 1.5: a probability must be between 0 and 1".
func (im Impairments) Validate() error {
	for _, p := range []struct {
		flag string
		v    float64
	}{{"--loss", im.Loss}, {"--dup", im.Duplicate}, {"--reorder", im.Reorder}, {"--corrupt", im.Corrupt}} {
		if !(p.v >= 0 && p.v <= 1) { // also catches NaN
			return fmt.Errorf("%s %v: a probability must be between 0 and 1", p.flag, p.v)
		}
	}
	if im.ReorderDelay < 0 {
		return fmt.Errorf("reorder delay %v is negative", im.ReorderDelay)
	}
	return nil
}

// active reports whether any impairment can strike.
func (im Impairments) active() bool {
	return im.Loss > 0 || im.Duplicate > 0 || im.Reorder > 0 || im.Corrupt > 0
}

// pcgStream is the second half of the PCG generator's seed: a fixed
// constant ("packetw" in ASCII), so that Impairments.Seed alone decides.
const pcgStream = 0x7061636b657477

// newImpairmentRNG returns the wire's one generator.
func newImpairmentRNG(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), pcgStream))
}

// draw is what the generator decided for one delivery.
type draw struct {
	lose, duplicate, reorder, corrupt bool
	bit                               int // the bit to flip if corrupt
}

// drawDelivery makes the decisions for one delivery of an n-byte frame.
// It always draws the same five numbers in the same order, whatever the
// probabilities and the outcome (see Impairments).
func drawDelivery(rng *rand.Rand, im *Impairments, n int) draw {
	d := draw{
		lose:      rng.Float64() < im.Loss,
		duplicate: rng.Float64() < im.Duplicate,
		reorder:   rng.Float64() < im.Reorder,
		corrupt:   rng.Float64() < im.Corrupt,
	}
	if n > 0 {
		d.bit = rng.IntN(n * 8)
	}
	return d
}

// FaultKind says what a targeted fault does to its frame.
type FaultKind uint8

const (
	FaultDrop    FaultKind = iota // the frame is lost on the wire (wire_fault)
	FaultCorrupt                  // one bit of the frame is flipped
)

func (k FaultKind) String() string {
	switch k {
	case FaultDrop:
		return "drop"
	case FaultCorrupt:
		return "corrupt"
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// Fault is a targeted fault: "drop frame N" or "corrupt frame N", for a lab
// that wants one particular frame damaged rather than a random few. N is
// the frame's ID in the step log (the "frame" of its events), which is
// handed out whether or not anybody listens, so a fault found in one run's
// log hits the same frame when the run is repeated with the same seed.
//
// A fault strikes the frame as it leaves its sender, before a hub or switch
// copies it: a dropped frame reaches no port, and a corrupted frame carries
// the same flipped bit to every port. A copy made by the Duplicate
// impairment has an ID of its own, and a fault naming that ID strikes the
// copy alone.
type Fault struct {
	Frame uint64 // the frame ID, from 1 up
	Kind  FaultKind
	// Bit is the bit FaultCorrupt flips, counted in the order Ethernet
	// sends them (see flipBit); -1 lets a generator seeded with the
	// wire's Seed and the frame ID choose, so the same fault flips the
	// same bit in every run. A bit past the end of the frame wraps around.
	// FaultDrop ignores it.
	Bit int
}

// String gives the fault in the form ParseFault reads: "drop:7",
// "corrupt:7", "corrupt:7:bit=100".
func (f Fault) String() string {
	s := f.Kind.String() + ":" + strconv.FormatUint(f.Frame, 10)
	if f.Kind == FaultCorrupt && f.Bit >= 0 {
		s += ":bit=" + strconv.Itoa(f.Bit)
	}
	return s
}

func (f Fault) validate() error {
	switch {
	case f.Frame == 0:
		return fmt.Errorf("fault %s: frame IDs start at 1", f)
	case f.Kind != FaultDrop && f.Kind != FaultCorrupt:
		return fmt.Errorf("fault %s: the kind must be drop or corrupt", f)
	case f.Kind == FaultCorrupt && f.Bit < -1:
		return fmt.Errorf("fault %s: the bit must be 0 or more (or -1 to let the seed choose)", f)
	}
	return nil
}

// faultUsage is the form every ParseFault error recalls.
const faultUsage = "want drop:N, corrupt:N or corrupt:N:bit=B, where N is a frame ID from 1 up and B a bit number from 0 up"

// ParseFault reads a targeted fault as the command line and scenario files
// give it: "drop:7" (lose frame 7), "corrupt:7" (flip a bit the seed
// chooses) or "corrupt:7:bit=100" (flip bit 100). Errors are one sentence.
func ParseFault(s string) (Fault, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := func() (Fault, error) { return Fault{}, fmt.Errorf("fault %q: %s", s, faultUsage) }
	if len(parts) < 2 || len(parts) > 3 {
		return bad()
	}
	f := Fault{Bit: -1}
	switch parts[0] {
	case "drop":
		f.Kind = FaultDrop
	case "corrupt":
		f.Kind = FaultCorrupt
	default:
		return bad()
	}
	n, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || n == 0 {
		return bad()
	}
	f.Frame = n
	if len(parts) == 3 {
		if f.Kind != FaultCorrupt {
			return Fault{}, fmt.Errorf("fault %q: only corrupt takes a bit (drop:N loses the whole frame)", s)
		}
		v, ok := strings.CutPrefix(parts[2], "bit=")
		if !ok {
			return bad()
		}
		b, err := strconv.Atoi(v)
		if err != nil || b < 0 {
			return bad()
		}
		f.Bit = b
	}
	return f, nil
}

// faultBit chooses the bit a FaultCorrupt flips in an n-byte frame: its own
// Bit, wrapped to the frame's length, or one chosen by a generator seeded
// with the wire's seed and the frame ID. That generator is not the wire's
// main one, so a fault does not shift the impairments' decisions for the
// frames after it.
func faultBit(f Fault, seed int64, n int) int {
	if f.Bit >= 0 {
		return f.Bit % (n * 8)
	}
	return rand.New(rand.NewPCG(uint64(seed), f.Frame)).IntN(n * 8)
}

// flipBit flips bit n of frame b and reports the byte it was in, and that
// byte's value before and after. Bits are counted in the order Ethernet
// sends them: byte n/8, and within it bit n%8 counting from the least
// significant bit, which goes on the wire first (IEEE 802.3 clause 3.3).
func flipBit(b []byte, n int) (byteIndex int, before, after byte) {
	byteIndex = n / 8
	before = b[byteIndex]
	b[byteIndex] ^= 1 << (n % 8)
	return byteIndex, before, b[byteIndex]
}
