// Package reference is a solution of the impl-arp lab, kept out of the
// skeleton. It passes every graded test. It follows arp.ARP's rules (RFC
// 826's merge, a queue per neighbour, retries, FAILED, expiry) in fewer
// lines and with fewer steps in the log; it has no cache size limit, no
// probes and no conflict detection.
package reference

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Cache is the neighbour cache of one NIC.
type Cache struct {
	nic   arp.NIC
	cfg   arp.Config
	addrs []netip.Addr
	table map[netip.Addr]*entry
	buf   []byte
}

type entry struct {
	ip       netip.Addr
	mac      nic.MAC
	state    arp.NeighborState
	updated  time.Duration
	requests int
	timer    clock.Timer
	queue    []packet
}

type packet struct {
	t       nic.EtherType
	payload []byte
	id      uint64
}

// New returns the cache of NIC n; cfg has arp's defaults filled in.
func New(n arp.NIC, cfg arp.Config) arp.Resolver {
	return &Cache{nic: n, cfg: cfg, table: map[netip.Addr]*entry{}}
}

// AddAddress makes the cache answer requests for ip.
func (c *Cache) AddAddress(ip netip.Addr) {
	if !slices.Contains(c.addrs, ip) {
		c.addrs = append(c.addrs, ip)
	}
}

// Output sends payload to nextHop's MAC address, or queues it while asking.
func (c *Cache) Output(nextHop netip.Addr, t nic.EtherType, payload []byte, id uint64) error {
	if id == 0 {
		id = c.nic.Recorder().NewFrameID()
	}
	e := c.table[nextHop]
	switch {
	case e == nil:
		e = &entry{ip: nextHop, state: arp.NeighborIncomplete, updated: c.nic.Clock().Now()}
		c.table[nextHop] = e
		e.queue = append(e.queue, packet{t, slices.Clone(payload), id})
		c.step("queue", viz.Pass, id, fmt.Sprintf("%s unknown: queued while asking", nextHop))
		c.request(e)
		return nil
	case e.state == arp.NeighborReachable:
		c.step("lookup", viz.Pass, id, fmt.Sprintf("%s is-at %s", nextHop, e.mac))
		return c.nic.Transmit(e.mac, t, payload, id)
	case e.state == arp.NeighborIncomplete:
		if len(e.queue) >= c.cfg.QueueLimit {
			c.dropPacket("queue", viz.ReasonARPQueueFull, id, fmt.Sprintf("%d packets already wait for %s", len(e.queue), nextHop))
			return arp.ErrQueueFull
		}
		e.queue = append(e.queue, packet{t, slices.Clone(payload), id})
		c.step("queue", viz.Pass, id, fmt.Sprintf("queued %d while waiting for %s", len(e.queue), nextHop))
		return nil
	default: // FAILED
		c.dropPacket("lookup", viz.ReasonARPUnresolved, id, fmt.Sprintf("%s is FAILED", nextHop))
		return arp.ErrUnresolved
	}
}

// request broadcasts one who-has for e and arms the retry timer.
func (c *Cache) request(e *entry) {
	e.requests++
	src := netip.IPv4Unspecified()
	if len(c.addrs) > 0 {
		src = c.addrs[0]
	}
	id := c.nic.Recorder().NewFrameID()
	c.buf = arp.Append(c.buf[:0], arp.Request, c.nic.MAC(), src, nic.MAC{}, e.ip)
	c.step("request", viz.Send, id, fmt.Sprintf("who-has %s? tell %s (request %d of %d)", e.ip, src, e.requests, c.cfg.MaxRequests))
	_ = c.nic.Transmit(nic.Broadcast, nic.EtherTypeARP, c.buf, id)
	e.timer = c.nic.Clock().AfterFunc(c.cfg.RetryInterval, func() { c.retry(e) })
}

// retry asks again, or gives up after MaxRequests requests.
func (c *Cache) retry(e *entry) {
	if c.table[e.ip] != e || e.state != arp.NeighborIncomplete {
		return
	}
	if e.requests < c.cfg.MaxRequests {
		c.request(e)
		return
	}
	for _, p := range e.queue {
		c.dropPacket("failed", viz.ReasonARPUnresolved, p.id, fmt.Sprintf("%s did not answer %d requests", e.ip, e.requests))
	}
	e.queue = nil
	e.state = arp.NeighborFailed
	e.updated = c.nic.Clock().Now()
	e.timer = c.nic.Clock().AfterFunc(c.cfg.FailedTimeout, func() { c.forget(e) })
}

// forget deletes e if it is still the entry for its address.
func (c *Cache) forget(e *entry) {
	if c.table[e.ip] == e {
		c.step("expire", "", 0, fmt.Sprintf("%s (%s) forgotten", e.ip, e.state))
		delete(c.table, e.ip)
	}
}

// learn records that ip is at mac: REACHABLE for CacheTimeout from now.
func (c *Cache) learn(e *entry, mac nic.MAC) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.mac, e.state, e.updated, e.requests = mac, arp.NeighborReachable, c.nic.Clock().Now(), 0
	e.timer = c.nic.Clock().AfterFunc(c.cfg.CacheTimeout, func() { c.forget(e) })
}

// flush sends the packets that waited for e, in order.
func (c *Cache) flush(e *entry) {
	q := e.queue
	e.queue = nil
	for _, p := range q {
		c.step("resolved", viz.Pass, p.id, fmt.Sprintf("%s is-at %s: sending the queued packet", e.ip, e.mac))
		_ = c.nic.Transmit(e.mac, p.t, p.payload, p.id)
	}
}

// Receive takes one ARP frame: RFC 826's packet reception.
func (c *Cache) Receive(f nic.RxFrame) {
	p := arp.Packet(f.Payload)
	if err := p.Check(); err != nil {
		c.dropFrame("check", viz.ReasonARPMalformed, f.ID, err.Error())
		return
	}
	spa, sha, tpa := p.SenderIP(), p.SenderMAC(), p.TargetIP()
	if f.Class == nic.ClassOtherHost || spa.IsUnspecified() || slices.Contains(c.addrs, spa) {
		c.dropFrame("check", viz.ReasonARPNotForMe, f.ID, p.String())
		return
	}
	// RFC 826's merge: what we know of the sender is refreshed, whoever
	// the packet is for; the queued packets go out after the reply.
	e := c.table[spa]
	merged := e != nil
	if merged {
		c.learn(e, sha)
		defer c.flush(e)
	}
	if !slices.Contains(c.addrs, tpa) {
		if !merged {
			c.dropFrame("target", viz.ReasonARPNotForMe, f.ID, fmt.Sprintf("%s is not mine", tpa))
		}
		return
	}
	if !merged {
		e = &entry{ip: spa}
		c.table[spa] = e
		c.learn(e, sha)
	}
	c.step("learn", viz.Pass, f.ID, fmt.Sprintf("%s is-at %s", spa, sha))
	if p.Op() == arp.Request {
		id := c.nic.Recorder().NewFrameID()
		c.buf = arp.Append(c.buf[:0], arp.Reply, c.nic.MAC(), tpa, sha, spa)
		c.step("reply", viz.Send, id, fmt.Sprintf("%s is-at %s", tpa, c.nic.MAC()))
		_ = c.nic.Transmit(sha, nic.EtherTypeARP, c.buf, id)
	}
}

// Entries lists the cache, sorted by address.
func (c *Cache) Entries() []arp.Neighbor {
	var out []arp.Neighbor
	now := c.nic.Clock().Now()
	for _, e := range c.table {
		out = append(out, arp.Neighbor{IP: e.ip, MAC: e.mac, Dev: c.nic.Name(), State: e.state, Age: now - e.updated, Queued: len(e.queue)})
	}
	slices.SortFunc(out, func(a, b arp.Neighbor) int { return a.IP.Compare(b.IP) })
	return out
}

func (c *Cache) step(step string, v viz.Verdict, frame uint64, msg string) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: v, Frame: frame, Msg: msg})
	}
}

func (c *Cache) dropPacket(step string, reason viz.Reason, frame uint64, msg string) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Msg: msg})
		r.EndWalk(frame)
	}
}

func (c *Cache) dropFrame(step string, reason viz.Reason, frame uint64, msg string) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Msg: msg})
	}
}
