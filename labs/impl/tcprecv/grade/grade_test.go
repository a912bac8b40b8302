package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/labs/impl/tcprecv/grade"
	"github.com/packetwalk/packetwalk/labs/impl/tcprecv/reference"
	"github.com/packetwalk/packetwalk/tcp"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// ownReceiver is the stack's own ReceiveBuffer as a tcp.Receiver.
type ownReceiver struct{ *tcp.ReceiveBuffer }

func (o ownReceiver) Insert(seq tcp.Seq, data []byte) int {
	n, _ := o.ReceiveBuffer.Insert(seq, data)
	return n
}

// Held: the buffer lists its ranges most recent first (RFC 2018 §4);
// the interface wants them in sequence order.
func (o ownReceiver) Held() []tcp.SACKBlock {
	var held []tcp.SACKBlock
	blocks := o.OutOfOrder()
	for len(blocks) > 0 {
		low := 0
		for i, b := range blocks {
			if b.Start.LessThan(blocks[low].Start) {
				low = i
			}
		}
		held = append(held, blocks[low])
		blocks = append(blocks[:low], blocks[low+1:]...)
	}
	return held
}

// TestTCPsOwnReceiver: so does the stack's own receive buffer, so the
// tests ask for what TCP itself does.
func TestTCPsOwnReceiver(t *testing.T) {
	grade.Run(t, func(c int) tcp.Receiver { return ownReceiver{tcp.NewReceiveBuffer(c, 0)} })
}
