package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// frameInfo is what the ladder needs of one frame: who sent it, who got it,
// and where its walk ended if it was dropped. Writer (the file) and Live
// (the live view) derive it the same way, from the frame's events and
// captures, so that the page draws both alike.
type frameInfo struct {
	ID      uint64   `json:"id"`
	T       float64  `json:"t"`              // first sign of the frame, seconds
	Arrive  float64  `json:"arrive"`         // when it reached the receiver, or 0
	From    string   `json:"from,omitempty"` // the sending host
	To      []string `json:"to,omitempty"`   // the receiving hosts
	Drop    *dropAt  `json:"drop,omitempty"` // the first drop on its walk
	Summary string   `json:"summary,omitempty"`
	Conn    uint64   `json:"conn,omitempty"` // a socket that handled it
	DupOf   uint64   `json:"dup_of,omitempty"`
}

type dropAt struct {
	Host   string `json:"host"`
	Layer  string `json:"layer"`
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// capture is one copy of a frame at a NIC.
type capture struct {
	Frame    uint64  `json:"frame"`
	Host     string  `json:"host"`
	NIC      string  `json:"nic"`
	Dir      string  `json:"dir"`
	T        float64 `json:"t"`
	Len      int     `json:"len"`
	FCSError bool    `json:"fcs_error,omitempty"`
	Bytes    string  `json:"bytes,omitempty"` // base64, perhaps snapped
	Ref      *int    `json:"ref,omitempty"`   // same bytes as that capture
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func newFrameInfo(id uint64, t time.Duration) *frameInfo {
	return &frameInfo{ID: id, T: seconds(t)}
}

// newCapture describes c without its bytes.
func newCapture(c *viz.CapturedFrame) capture {
	return capture{Frame: c.Frame, Host: c.Host, NIC: c.NIC, Dir: c.Dir.String(), T: seconds(c.T), Len: len(c.Data), FCSError: c.FCSError}
}

// noteEvent learns what e says about its frame: the socket that handled
// it, its first drop, and (from the wire's and the NIC's steps) its sender
// and receivers.
func (f *frameInfo) noteEvent(e *viz.Event) {
	if e.Conn != 0 && f.Conn == 0 && e.Layer == viz.LayerTCP {
		f.Conn = e.Conn
	}
	if e.Verdict == viz.Drop && f.Drop == nil {
		f.Drop = &dropAt{Host: e.Host, Layer: string(e.Layer), Step: e.Step, Reason: string(e.Reason)}
	}
	switch {
	case e.Layer == viz.LayerPHY && (e.Step == "carry" || e.Step == "duplicate" || e.Step == "loss"):
		if from, ok := e.Field("from"); ok && f.From == "" {
			f.From = hostOf(from)
		}
		if to, ok := e.Field("to"); ok && len(f.To) == 0 {
			f.To = append(f.To, hostOf(to))
		}
		if a, ok := e.Field("arrive"); ok && f.Arrive == 0 {
			f.Arrive, _ = strconv.ParseFloat(a, 64)
		}
		if d, ok := e.Field("dup_of"); ok {
			f.DupOf, _ = strconv.ParseUint(d, 10, 64)
		}
	case e.Layer == viz.LayerNIC && e.Step == "tx" && f.From == "":
		f.From = e.Host
		f.Summary = e.Message()
	}
}

// noteCapture learns the sender (an outbound copy) or a receiver (an
// inbound copy) of the frame.
func (f *frameInfo) noteCapture(c *viz.CapturedFrame) {
	switch c.Dir {
	case viz.Outbound:
		if f.From == "" {
			f.From = c.Host
		}
	case viz.Inbound:
		if !contains(f.To, c.Host) {
			f.To = append(f.To, c.Host)
		}
		if f.Arrive == 0 {
			f.Arrive = seconds(c.T)
		}
	}
}

// hostOf turns a wire end "server/eth0" into its host "server".
func hostOf(end string) string {
	h, _, _ := strings.Cut(end, "/")
	return h
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
