package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/viz"
)

// The PHY model on a wire (Config.PHY, package phy): the sender's PHY
// line-codes each frame once (encode), and each receiving port's PHY
// recovers its clock from the signal, finds the SFD and decodes the bits
// (preamble, sfd, decode) when the frame arrives; the NIC gets the bytes it
// decoded, so noise and slips reach the FCS check. Without a PHY model none
// of this runs: a delivery costs one boolean test more.

// phyStream seeds the generators of the PHY model, apart from the
// impairments' generator, so that turning --phy on does not move where
// --loss or --corrupt strike.
const phyStream = 0x7068797369676e // "physign"

// codeClause is the clause of IEEE 802.3 that defines each line code, for
// the steps' messages.
var codeClause = map[phy.Code]string{
	phy.Manchester:  "Manchester (IEEE 802.3 clause 7.3.1.1, 10BASE-T)",
	phy.NRZ:         "NRZ (no Ethernet code: the clock is not in the signal)",
	phy.FourB5BNRZI: "4B/5B + NRZI (IEEE 802.3 clauses 24.2.2.1 and 26, 100BASE-FX)",
	phy.FourB5BMLT3: "4B/5B + MLT-3 (IEEE 802.3 clauses 24.2.2.1 and 25, 100BASE-TX)",
}

// encode line-codes a frame leaving sender and logs the encode step.
func (w *Wire) encode(sender *wirePort, frame []byte, id uint64) *phy.Signal {
	sig := phy.Encode(w.phy.Code, bytes.Clone(frame))
	if rec := w.rec; rec.On() {
		rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "encode", Verdict: viz.Pass, Frame: id,
			Msg: fmt.Sprintf("%s's PHY sends %d bytes as %s: preamble + SFD + frame = %d bits, %d baud; longest run without a transition %d baud",
				sender.name, len(frame), codeClause[w.phy.Code], (phy.PreambleLen+1+len(frame))*8, sig.Bauds(), sig.LongestRun),
			Fields: []viz.Field{viz.F("from", sender.name), viz.F("code", w.phy.Code.String()),
				viz.F("bytes", strconv.Itoa(len(frame))), viz.F("baud", strconv.Itoa(sig.Bauds())),
				viz.F("longest_run", strconv.Itoa(sig.LongestRun))}})
	}
	return sig
}

// receive runs port p's receiver over a signal that has just arrived and
// hands the NIC what it decoded, or logs why there is nothing to hand.
// It runs on the clock's owner, like a delivery.
func (w *Wire) receive(p *wirePort, sig *phy.Signal, id uint64) {
	// Each delivery's noise comes from a generator of its own, keyed by
	// the seed, the frame and the port: the outcome depends on nothing
	// else, whatever order deliveries are decoded in.
	rng := rand.New(rand.NewPCG(uint64(w.impairments.Seed)^phyStream, id<<10|uint64(p.index&1023)))
	r := phy.Receive(sig, w.phy, rng)
	if rec := w.rec; rec.On() {
		w.logReceive(p, sig, r, id)
	}
	if r.Drop != phy.NoDrop {
		return
	}
	p.port.Arrive(r.Frame, id)
}

// logReceive logs the receiver's steps: preamble, sfd, decode, as far as
// it got; the last one carries the waveform's beginning.
func (w *Wire) logReceive(p *wirePort, sig *phy.Signal, r *phy.Result, id uint64) {
	rec := w.rec
	to := viz.F("to", p.name)
	code := viz.F("code", w.phy.Code.String())
	wave := []viz.Field{viz.F("wave", r.Wave.Sent), viz.F("ticks", r.Wave.Ticks), viz.F("got", r.Wave.Got),
		viz.F("sfd_baud", strconv.Itoa(r.Wave.SFDBaud)), viz.F("frame_baud", strconv.Itoa(r.Wave.FrameBaud)),
		viz.F("lock_baud", strconv.Itoa(r.Wave.LockBaud))}
	emit := func(step string, drop viz.Reason, msg string, fields ...viz.Field) {
		e := viz.Event{Layer: viz.LayerPHY, Step: step, Verdict: viz.Pass, Frame: id, Msg: msg, Fields: append([]viz.Field{to, code}, fields...)}
		if drop != "" {
			e.Verdict, e.Reason = viz.Drop, drop
		}
		rec.Emit(e)
	}
	if !r.Locked {
		emit("preamble", viz.ReasonPHYNoLock,
			fmt.Sprintf("%s's clock recovery never locked (%s): %d transitions seen, none %d in a row where the clock expected them (IEEE 802.3 clause 3.2.1: the preamble is there for the receiver to synchronize on)",
				p.name, r.Why, r.Transitions, w.lockTransitions()),
			append([]viz.Field{viz.F("transitions", strconv.Itoa(r.Transitions)), w.phyKnobs()}, wave...)...)
		return
	}
	emit("preamble", "",
		fmt.Sprintf("%s's clock locked after %d transitions, at baud %d of %d (%s)", p.name, r.Transitions, r.LockBaud, sig.Bauds(), w.phy),
		viz.F("transitions", strconv.Itoa(r.Transitions)), viz.F("lock_baud", strconv.Itoa(r.LockBaud)), w.phyKnobs())
	if !r.SFDFound {
		emit("sfd", viz.ReasonPHYSFDMissing,
			fmt.Sprintf("%s: %s (IEEE 802.3 clause 3.2.2); the frame is lost", p.name, r.Why), wave...)
		return
	}
	emit("sfd", "", fmt.Sprintf("%s: SFD 0xD5 (10101011, IEEE 802.3 clause 3.2.2) at baud %d: the destination address comes next", p.name, r.SFDBaud),
		viz.F("sfd_baud", strconv.Itoa(r.SFDBaud)))
	counts := []viz.Field{viz.F("samples", strconv.Itoa(r.Samples)), viz.F("symbols", strconv.Itoa(r.Decisions)),
		viz.F("symbol_errors", strconv.Itoa(r.SymbolErrors)), viz.F("slips", strconv.Itoa(r.Slips))}
	if r.Drop == phy.DropSymbolError {
		emit("decode", viz.ReasonPHYSymbolError,
			fmt.Sprintf("%s: %s (IEEE 802.3 clause 24.2.4.4: a receive error, the frame is discarded); %d symbol errors, %d slips", p.name, r.Why, r.SymbolErrors, r.Slips),
			append(counts, wave...)...)
		return
	}
	extra := ""
	if r.Violations > 0 {
		extra += fmt.Sprintf(", %d Manchester violations", r.Violations)
	}
	if r.DribbleBits > 0 {
		extra += fmt.Sprintf(", %d dribble bits discarded (IEEE 802.3 clause 4.2.4.2.1)", r.DribbleBits)
	}
	verdict := "the bits are as sent"
	switch {
	case len(r.Frame) != len(sig.Frame):
		verdict = fmt.Sprintf("%d bytes instead of %d: the FCS check will fail", len(r.Frame), len(sig.Frame))
	case r.BitErrors > 0:
		verdict = fmt.Sprintf("%d bits differ from what was sent: the FCS check will catch it", r.BitErrors)
	}
	counts = append(counts, viz.F("bytes", strconv.Itoa(len(r.Frame))), viz.F("bit_errors", strconv.Itoa(r.BitErrors)),
		viz.F("violations", strconv.Itoa(r.Violations)), viz.F("dribble", strconv.Itoa(r.DribbleBits)))
	emit("decode", "",
		fmt.Sprintf("%s sampled %d symbols at its recovered clock: %d bytes, %d symbol errors, %d slips%s; %s",
			p.name, r.Decisions, len(r.Frame), r.SymbolErrors, r.Slips, extra, verdict),
		append(counts, wave...)...)
}

func (w *Wire) lockTransitions() int {
	if w.phy.LockTransitions > 0 {
		return w.phy.LockTransitions
	}
	return phy.DefaultLockTransitions
}

// phyKnobs is the impairments of the signal, as one field.
func (w *Wire) phyKnobs() viz.Field {
	return viz.F("phy", w.phy.String())
}
