package arp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of Config. Each is a limit or a timer a lab may want to turn.
const (
	// DefaultCacheTimeout is how long a resolved entry is used without
	// being confirmed again. Linux keeps an entry REACHABLE for
	// base_reachable_time (30 s, randomised to 15..45 s), then STALE: still
	// used, re-checked by unicast probes (delay_first_probe_time 5 s) and
	// collected after gc_stale_time (60 s). packetwalk has no STALE state:
	// an entry is REACHABLE for 60 s, about as long as Linux uses one
	// without news, and then deleted, so the next packet is queued and
	// resolved with a broadcast again, as in RFC 826's own suggestion of a
	// timeout ("Related issue"), and as BSD does (with 20 minutes).
	DefaultCacheTimeout = 60 * time.Second
	// DefaultRetryInterval is the time between two requests for the
	// same address: RFC 1122 section 2.3.2.1 recommends at most one per
	// second per destination (Linux: retrans_time, 1 s).
	DefaultRetryInterval = time.Second
	// DefaultMaxRequests is how many broadcast requests are sent before
	// giving up (Linux: mcast_solicit, 3).
	DefaultMaxRequests = 3
	// DefaultQueueLimit is how many packets may wait for one neighbour.
	// Linux's unres_qlen was 3 until 3.3, which lost every fragment of a
	// large first datagram after the third; today Linux counts bytes,
	// unres_qlen_bytes = 212992, about 100 full frames, and reports
	// unres_qlen = 101. A lab can set 3 to show the old behaviour.
	DefaultQueueLimit = 101
	// DefaultMaxEntries bounds the cache (Linux: gc_thresh3, 1024, the
	// hard limit of the neighbour table).
	DefaultMaxEntries = 1024
	// DefaultFailedTimeout is how long a neighbour that never answered
	// stays FAILED: meanwhile packets for it fail at once instead of
	// starting another round of broadcasts.
	DefaultFailedTimeout = time.Second
)

// Config are the limits and timers of one NIC's ARP. Zero values mean
// the defaults above.
type Config struct {
	CacheTimeout  time.Duration // a REACHABLE entry not confirmed for this long is deleted
	RetryInterval time.Duration // between two requests for the same address
	MaxRequests   int           // requests sent before the neighbour is declared unreachable
	QueueLimit    int           // packets waiting per neighbour; more are dropped (arp_queue_full)
	MaxEntries    int           // cache entries; a new one evicts the oldest
	// FailedTimeout is how long an unresolved neighbour stays FAILED. A
	// negative value deletes the entry at once, as Linux does: the next
	// packet then starts a new resolution.
	FailedTimeout time.Duration
	// Resolver builds the NIC's resolver instead of New (NewResolver),
	// given this Config with the defaults filled in; nil means New. A lab
	// puts a student's neighbour cache here.
	Resolver func(n NIC, cfg Config) Resolver
}

func (c Config) withDefaults() Config {
	if c.CacheTimeout <= 0 {
		c.CacheTimeout = DefaultCacheTimeout
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.QueueLimit <= 0 {
		c.QueueLimit = DefaultQueueLimit
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.FailedTimeout == 0 {
		c.FailedTimeout = DefaultFailedTimeout
	}
	return c
}

// Errors returned by Output; each is also logged as a named drop.
var (
	ErrQueueFull  = errors.New("ARP: too many packets already waiting for this neighbour")
	ErrUnresolved = errors.New("ARP: the neighbour did not answer")
)

// NeighborState is the state of a cache entry, named as `ip neigh` names
// Linux's NUD states.
type NeighborState uint8

const (
	// NeighborIncomplete: a request is out, packets wait for the answer.
	NeighborIncomplete NeighborState = iota + 1
	// NeighborReachable: the MAC address is known and fresh.
	NeighborReachable
	// NeighborFailed: no answer to MaxRequests requests; held for
	// FailedTimeout, then deleted.
	NeighborFailed
)

func (s NeighborState) String() string {
	switch s {
	case NeighborIncomplete:
		return "INCOMPLETE"
	case NeighborReachable:
		return "REACHABLE"
	case NeighborFailed:
		return "FAILED"
	}
	return "NONE"
}

// Neighbor is one cache entry as Entries reports it.
type Neighbor struct {
	IP     netip.Addr
	MAC    nic.MAC // zero unless the neighbour was resolved
	Dev    string
	State  NeighborState
	Age    time.Duration // since the entry was created or last confirmed
	Queued int           // packets waiting for the answer
}

// String prints the entry as `ip neigh` does:
//
//	10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE
//	10.0.0.9 dev eth0 INCOMPLETE
func (n Neighbor) String() string {
	if n.State == NeighborReachable {
		return fmt.Sprintf("%s dev %s lladdr %s %s", n.IP, n.Dev, n.MAC, n.State)
	}
	return fmt.Sprintf("%s dev %s %s", n.IP, n.Dev, n.State)
}

// ARP resolves IPv4 next hops to MAC addresses for one NIC (RFC 826), and
// answers requests for the NIC's own addresses. The IP layer sends unicast
// packets through Output; broadcast it sends with NIC.Transmit itself.
//
// Like all protocol state, an ARP is owned by its host's event loop:
// Output, Receive and the clock's callbacks run there, one at a time, so
// there are no locks.
//
// The documented rules:
//
//   - Learning follows RFC 826's reception algorithm literally: any valid
//     packet refreshes an existing entry for its sender, but only a packet
//     whose target is one of our addresses creates one.
//   - Gratuitous ARP (sender IP = target IP) therefore updates an existing
//     entry and never creates one, which is Linux's default (arp_accept=0).
//   - A neighbour that does not answer MaxRequests requests goes FAILED:
//     every queued packet is dropped (arp_unresolved), and for
//     FailedTimeout further packets fail at once with ErrUnresolved;
//     then the entry is deleted and the next packet tries again.
//   - When the cache holds MaxEntries entries, a new one evicts the entry
//     created or confirmed longest ago (the lowest IP on a tie); packets
//     queued on it are dropped (arp_unresolved).
//   - When QueueLimit packets already wait for a neighbour, the newcomer is
//     dropped (arp_queue_full). Linux drops the oldest instead; dropping
//     the newcomer lets Output report it to its caller.
//
// Like RFC 826 itself, ARP trusts every sender: a host that answers for
// somebody else's address, or updates an entry with a gratuitous ARP, is
// believed. That is how ARP spoofing works, and a lab can show it.
type ARP struct {
	nic   NIC
	cfg   Config
	clock clock.Clock
	rec   *viz.Recorder

	addrs []netip.Addr // the addresses we answer for, in the order added
	// addrsText is addrs as %v prints it, made when an address is added
	// rather than by every request for another host's address.
	addrsText string
	cache     map[netip.Addr]*neighbor
	txBuf     []byte // reused for requests and replies: Transmit copies
}

// neighbor is one cache entry.
type neighbor struct {
	ip       netip.Addr
	mac      nic.MAC
	state    NeighborState
	updated  time.Duration // created, or last confirmed by a packet from it
	src      netip.Addr    // the sender IP our requests carry
	requests int           // requests sent in this round of resolution
	timer    clock.Timer   // retry (INCOMPLETE), expiry (REACHABLE), hold (FAILED)
	queue    []pendingPacket
}

// pendingPacket is a packet waiting for its next hop's MAC address. It
// owns a copy of the payload: the caller's buffer is reused at once.
type pendingPacket struct {
	t        nic.EtherType
	payload  []byte
	id       uint64
	queuedAt time.Duration
}

// New returns the ARP of NIC n, with an empty cache and no addresses. It
// receives nothing until it is registered with n's driver for EtherType
// 0x0806 (n.Register(nic.EtherTypeARP, a)), which stack.Host.AddInterface
// does, as it registers IPv4.
func New(n NIC, cfg Config) *ARP {
	return &ARP{
		nic:   n,
		cfg:   cfg.withDefaults(),
		clock: n.Clock(),
		rec:   n.Recorder(),
		cache: make(map[netip.Addr]*neighbor),
	}
}

// AddAddress makes ARP answer requests for ip, an IPv4 address of this NIC.
// It panics if ip is not IPv4: that is a configuration mistake, not
// something a packet can cause.
func (a *ARP) AddAddress(ip netip.Addr) {
	ip = ip.Unmap()
	if !ip.Is4() {
		panic(fmt.Sprintf("arp: address %v is not an IPv4 address", ip))
	}
	if slices.Contains(a.addrs, ip) {
		return
	}
	a.addrs = append(a.addrs, ip)
	a.addrsText = fmt.Sprint(a.addrs)
	// Our own address is not a neighbour: forget anything learned for it.
	if e := a.cache[ip]; e != nil {
		a.dropQueue(e, "address", "%s became one of our own addresses: packet dropped after waiting %v", -1)
		a.remove(e)
	}
}

// Addresses returns the addresses ARP answers for, in the order added.
func (a *ARP) Addresses() []netip.Addr { return slices.Clone(a.addrs) }

func (a *ARP) owns(ip netip.Addr) bool { return slices.Contains(a.addrs, ip) }

// Entries returns the cache sorted by IP address, like `ip neigh`.
func (a *ARP) Entries() []Neighbor {
	now := a.clock.Now()
	out := make([]Neighbor, 0, len(a.cache))
	for _, e := range a.cache {
		out = append(out, Neighbor{IP: e.ip, MAC: e.mac, Dev: a.nic.Name(), State: e.state,
			Age: now - e.updated, Queued: len(e.queue)})
	}
	slices.SortFunc(out, func(x, y Neighbor) int { return x.IP.Compare(y.IP) })
	return out
}

// ---- Sending: Output resolves the next hop ----

// Output sends payload (a packet of EtherType t, usually IPv4) to the
// unicast next hop nextHop. id is the packet's frame ID (0: a new one).
//
// If the cache holds a fresh MAC address for nextHop, the packet goes
// straight to NIC.Transmit. Otherwise a copy of it waits in the
// neighbour's queue while a broadcast request asks "who has nextHop?",
// and it is sent when the reply comes; Output returns nil for a queued
// packet. It returns ErrQueueFull when the queue is full and
// ErrUnresolved while the neighbour is FAILED; both drops are logged.
func (a *ARP) Output(nextHop netip.Addr, t nic.EtherType, payload []byte, id uint64) error {
	if id == 0 {
		id = a.rec.NewFrameID()
	}
	nextHop = nextHop.Unmap()
	if !isUnicast4(nextHop) {
		// The IP layer decides broadcast and multicast itself; reaching
		// here is its mistake, but it still gets a named drop.
		if a.rec.On() {
			a.step(viz.Event{Step: "lookup", Verdict: viz.Drop, Reason: viz.ReasonARPUnresolved, Frame: id}, nil,
				"cannot resolve %v: ARP resolves unicast IPv4 next hops only", viz.Addr(nextHop))
			a.rec.EndWalk(id)
		}
		return fmt.Errorf("%w: next hop %v is not a unicast IPv4 address", ErrUnresolved, nextHop)
	}

	now := a.clock.Now()
	e := a.cache[nextHop]
	// The expiry timer normally removes a stale entry on time; checking the
	// age here too keeps a late timer (a busy wall-clock host) from letting
	// a packet use an expired MAC address.
	if e != nil && e.state == NeighborReachable && now-e.updated >= a.cfg.CacheTimeout {
		a.expire(e)
		e = nil
	}

	switch {
	case e == nil:
		if a.rec.On() {
			a.step(viz.Event{Step: "lookup", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.Fv("ip", viz.Addr(nextHop)), viz.F("hit", "false")},
				"%s not in the ARP cache: resolving", viz.Addr(nextHop))
		}
		e = a.insert(nextHop, NeighborIncomplete, id)
		e.src = a.sourceIP(t, payload)
		a.enqueue(e, t, payload, id)
		a.solicit(e)
		return nil

	case e.state == NeighborReachable:
		if a.rec.On() {
			a.rec.Stepf(viz.Event{Layer: viz.LayerARP, Step: "lookup", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.Fv("ip", viz.Addr(nextHop)), viz.F("hit", "true"), viz.Fv("mac", viz.MAC(e.mac)),
					viz.F("state", e.state.String())},
				"%s is-at %s (REACHABLE, confirmed %v ago)", viz.Addr(nextHop), viz.MAC(e.mac), viz.Dur(now-e.updated))
		}
		return a.nic.Transmit(e.mac, t, payload, id)

	case e.state == NeighborIncomplete:
		if len(e.queue) >= a.cfg.QueueLimit {
			if a.rec.On() {
				a.step(viz.Event{Step: "queue", Verdict: viz.Drop, Reason: viz.ReasonARPQueueFull, Frame: id},
					[]viz.Field{viz.Fv("ip", viz.Addr(nextHop)), viz.Fv("limit", viz.Int(a.cfg.QueueLimit))},
					"%d packets already wait for %s (queue limit %d)", viz.Int(len(e.queue)), viz.Addr(nextHop), viz.Int(a.cfg.QueueLimit))
				a.rec.EndWalk(id)
			}
			return ErrQueueFull
		}
		if a.rec.On() {
			a.step(viz.Event{Step: "lookup", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.Fv("ip", viz.Addr(nextHop)), viz.F("hit", "false"), viz.F("state", e.state.String())},
				"%s is INCOMPLETE: request %d of %d is out", viz.Addr(nextHop), viz.Int(e.requests), viz.Int(a.cfg.MaxRequests))
		}
		a.enqueue(e, t, payload, id)
		return nil

	default: // NeighborFailed
		if a.rec.On() {
			a.step(viz.Event{Step: "lookup", Verdict: viz.Drop, Reason: viz.ReasonARPUnresolved, Frame: id},
				[]viz.Field{viz.Fv("ip", viz.Addr(nextHop)), viz.F("state", e.state.String())},
				"%s is FAILED: no answer to %d requests; trying again in %v",
				viz.Addr(nextHop), viz.Int(a.cfg.MaxRequests), viz.Dur(e.updated+a.cfg.FailedTimeout-now))
			a.rec.EndWalk(id)
		}
		return ErrUnresolved
	}
}

func isUnicast4(ip netip.Addr) bool {
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsMulticast() && ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// sourceIP chooses the sender IP of our requests the way Linux's
// arp_solicit does with arp_announce=0: the source address of the packet
// that needs the resolution, if it is one of ours; otherwise the first
// address added. A NIC without addresses asks with 0.0.0.0, which RFC 5227
// calls an ARP probe: it still gets a reply.
func (a *ARP) sourceIP(t nic.EtherType, payload []byte) netip.Addr {
	if t == nic.EtherTypeIPv4 && len(payload) >= 20 && payload[0]>>4 == 4 {
		if src := netip.AddrFrom4([4]byte(payload[12:16])); a.owns(src) {
			return src
		}
	}
	if len(a.addrs) > 0 {
		return a.addrs[0]
	}
	return netip.IPv4Unspecified()
}

// enqueue keeps a copy of a packet until its next hop is resolved. The
// caller has checked the queue limit.
func (a *ARP) enqueue(e *neighbor, t nic.EtherType, payload []byte, id uint64) {
	e.queue = append(e.queue, pendingPacket{t: t, payload: slices.Clone(payload), id: id, queuedAt: a.clock.Now()})
	if a.rec.On() {
		a.step(viz.Event{Step: "queue", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.Fv("ip", viz.Addr(e.ip)), viz.Fv("queued", viz.Int(len(e.queue))),
				viz.Fv("limit", viz.Int(a.cfg.QueueLimit))},
			"queued %d/%d while waiting for %s's MAC address", viz.Int(len(e.queue)), viz.Int(a.cfg.QueueLimit), viz.Addr(e.ip))
	}
}

// solicit broadcasts one who-has request for e and arms the retry timer.
func (a *ARP) solicit(e *neighbor) {
	e.requests++
	id := a.rec.NewFrameID()
	a.txBuf = Append(a.txBuf[:0], Request, a.nic.MAC(), e.src, nic.MAC{}, e.ip)
	if a.rec.On() {
		a.step(viz.Event{Step: "request", Verdict: viz.Send, Frame: id},
			[]viz.Field{viz.F("op", "request"), viz.Fv("target_ip", viz.Addr(e.ip)), viz.Fv("sender_ip", viz.Addr(e.src)),
				viz.Fv("attempt", viz.Int(e.requests))},
			"who-has %s? tell %s (request %d of %d, broadcast)", viz.Addr(e.ip), viz.Addr(e.src), viz.Int(e.requests), viz.Int(a.cfg.MaxRequests))
	}
	// A transmit error (no carrier) is logged by the NIC; the retry timer
	// tries again and, in the end, the queued packets get a named drop.
	_ = a.nic.Transmit(nic.Broadcast, nic.EtherTypeARP, a.txBuf, id)
	e.timer = a.clock.AfterFunc(a.cfg.RetryInterval, func() { a.retry(e) })
}

// retry runs RetryInterval after a request: if no reply has come, it asks
// again, or gives up after MaxRequests requests.
func (a *ARP) retry(e *neighbor) {
	if a.cache[e.ip] != e || e.state != NeighborIncomplete {
		return // resolved, evicted or replaced meanwhile
	}
	if e.requests < a.cfg.MaxRequests {
		a.solicit(e)
		return
	}
	a.fail(e)
}

// fail gives up on e: every queued packet is dropped, and the entry is held
// FAILED so that the next packets fail fast rather than flood the link
// with requests nobody answers.
func (a *ARP) fail(e *neighbor) {
	now := a.clock.Now()
	if a.rec.On() {
		fields := []viz.Field{viz.Fv("ip", viz.Addr(e.ip)), viz.Fv("requests", viz.Int(e.requests))}
		if a.cfg.FailedTimeout < 0 {
			a.step(viz.Event{Step: "failed"}, fields,
				"no reply from %s to %d requests: entry deleted, %d queued packet(s) dropped",
				viz.Addr(e.ip), viz.Int(e.requests), viz.Int(len(e.queue)))
		} else {
			a.step(viz.Event{Step: "failed"}, fields,
				"no reply from %s to %d requests: entry FAILED for %v, %d queued packet(s) dropped",
				viz.Addr(e.ip), viz.Int(e.requests), viz.Dur(a.cfg.FailedTimeout), viz.Int(len(e.queue)))
		}
	}
	a.dropQueue(e, "failed", "%s did not answer %d ARP requests: packet dropped after waiting %v", e.requests)
	if a.cfg.FailedTimeout < 0 {
		a.remove(e)
		return
	}
	e.state = NeighborFailed
	e.updated = now
	e.timer = a.clock.AfterFunc(a.cfg.FailedTimeout, func() {
		if a.cache[e.ip] == e && e.state == NeighborFailed {
			if a.rec.On() {
				a.step(viz.Event{Step: "expire"},
					[]viz.Field{viz.Fv("ip", viz.Addr(e.ip)), viz.F("state", e.state.String())},
					"%s: FAILED entry removed; the next packet will ask again", viz.Addr(e.ip))
			}
			a.remove(e)
		}
	})
}

// dropQueue drops every packet waiting on e with arp_unresolved. format
// says why, of e's address, count (unless it is negative) and the time
// the packet waited.
func (a *ARP) dropQueue(e *neighbor, step, format string, count int) {
	for _, p := range e.queue {
		if a.rec.On() {
			ev := viz.Event{Step: step, Verdict: viz.Drop, Reason: viz.ReasonARPUnresolved, Frame: p.id}
			fields := []viz.Field{viz.Fv("ip", viz.Addr(e.ip))}
			if count >= 0 {
				a.step(ev, fields, format, viz.Addr(e.ip), viz.Int(count), viz.Dur(a.clock.Now()-p.queuedAt))
			} else {
				a.step(ev, fields, format, viz.Addr(e.ip), viz.Dur(a.clock.Now()-p.queuedAt))
			}
			a.rec.EndWalk(p.id)
		}
	}
	e.queue = nil
}

// flush sends e's queued packets, in the order they were queued, now that
// its MAC address is known.
func (a *ARP) flush(e *neighbor) {
	q := e.queue
	e.queue = nil
	for i, p := range q {
		if a.rec.On() {
			a.step(viz.Event{Step: "resolved", Verdict: viz.Pass, Frame: p.id},
				[]viz.Field{viz.Fv("ip", viz.Addr(e.ip)), viz.Fv("mac", viz.MAC(e.mac))},
				"%s is-at %s: sending queued packet %d of %d (waited %v)",
				viz.Addr(e.ip), viz.MAC(e.mac), viz.Int(i+1), viz.Int(len(q)), viz.Dur(a.clock.Now()-p.queuedAt))
		}
		// Transmit logs its own drops (tx_too_long, no_carrier).
		_ = a.nic.Transmit(e.mac, p.t, p.payload, p.id)
	}
}

// ---- The cache ----

// insert adds an entry for ip, evicting the oldest one if the cache is
// full. frame is the packet that caused the insertion, for the log.
func (a *ARP) insert(ip netip.Addr, state NeighborState, frame uint64) *neighbor {
	if len(a.cache) >= a.cfg.MaxEntries {
		a.evictOldest(ip, frame)
	}
	e := &neighbor{ip: ip, state: state, updated: a.clock.Now()}
	a.cache[ip] = e
	return e
}

// evictOldest removes the entry created or confirmed longest ago. The scan
// is linear, but it runs only when the cache is full, and it breaks ties
// by IP so that the choice never depends on map order.
func (a *ARP) evictOldest(forIP netip.Addr, frame uint64) {
	var victim *neighbor
	for _, e := range a.cache {
		if victim == nil || e.updated < victim.updated || (e.updated == victim.updated && e.ip.Less(victim.ip)) {
			victim = e
		}
	}
	if victim == nil {
		return
	}
	if a.rec.On() {
		a.step(viz.Event{Step: "evict", Frame: frame},
			[]viz.Field{viz.Fv("ip", viz.Addr(victim.ip)), viz.F("state", victim.state.String()),
				viz.Fv("for", viz.Addr(forIP))},
			"cache full (%d entries): evicted %s (%s, confirmed %v ago) to make room for %s",
			viz.Int(len(a.cache)), viz.Addr(victim.ip), viz.Str(victim.state.String()), viz.Dur(a.clock.Now()-victim.updated), viz.Addr(forIP))
	}
	a.dropQueue(victim, "evict", "the entry for %s was evicted before it resolved: packet dropped after waiting %v", -1)
	a.remove(victim)
}

// remove deletes e and stops its timer.
func (a *ARP) remove(e *neighbor) {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if a.cache[e.ip] == e {
		delete(a.cache, e.ip)
	}
}

// expire deletes a REACHABLE entry that was not confirmed for CacheTimeout.
func (a *ARP) expire(e *neighbor) {
	if a.rec.On() {
		a.step(viz.Event{Step: "expire"},
			[]viz.Field{viz.Fv("ip", viz.Addr(e.ip)), viz.Fv("mac", viz.MAC(e.mac)),
				viz.Fv("timeout", viz.Dur(a.cfg.CacheTimeout))},
			"%s (%s) expired: not confirmed for %v", viz.Addr(e.ip), viz.MAC(e.mac), viz.Dur(a.clock.Now()-e.updated))
	}
	a.remove(e)
}

// expiryDue runs when a REACHABLE entry's timer fires. A confirmation since
// the timer was armed only moved e.updated (rearming the timer on every
// packet would churn the clock's heap), so the timer checks the real age
// and sleeps again for the rest.
func (a *ARP) expiryDue(e *neighbor) {
	if a.cache[e.ip] != e || e.state != NeighborReachable {
		return
	}
	if age := a.clock.Now() - e.updated; age < a.cfg.CacheTimeout {
		e.timer = a.clock.AfterFunc(a.cfg.CacheTimeout-age, func() { a.expiryDue(e) })
		return
	}
	a.expire(e)
}

// confirm records that ip is at mac, now: the entry becomes (or stays)
// REACHABLE for another CacheTimeout.
func (a *ARP) confirm(e *neighbor, mac nic.MAC) {
	e.mac = mac
	e.updated = a.clock.Now()
	if e.state != NeighborReachable {
		if e.timer != nil {
			e.timer.Stop()
		}
		e.state = NeighborReachable
		e.requests = 0
		e.timer = a.clock.AfterFunc(a.cfg.CacheTimeout, func() { a.expiryDue(e) })
	}
}

// ---- Receiving: RFC 826's packet reception ----

// Receive implements Protocol: one received ARP frame. Its walk follows RFC
// 826, "Packet Reception", whose questions it asks in order:
//
//	?Do I have the hardware type in ar$hrd?  ?Do I speak the protocol in ar$pro?
//	    (Check: otherwise drop arp_malformed)
//	Merge_flag := false
//	If the pair <protocol type, sender protocol address> is already in my
//	    translation table, update the sender hardware address field of the
//	    entry with the new information in the packet and set Merge_flag to true.
//	?Am I the target protocol address?
//	Yes:
//	    If Merge_flag is false, add the triplet <protocol type, sender
//	        protocol address, sender hardware address> to the translation table.
//	    ?Is the opcode ares_op$REQUEST?  (NOW look at the opcode!!)
//	    Yes:
//	        Swap hardware and protocol fields, putting the local hardware and
//	        protocol addresses in the sender fields. Set the ar$op field to
//	        ares_op$REPLY. Send the packet to the (new) target hardware address
//	        on the same hardware on which the request was received.
//
// Before the merge it sets aside what RFC 826 predates: frames for other
// hosts seen in promiscuous mode (Linux ignores them too), senders that are
// not a unicast station, ARP probes from 0.0.0.0 (RFC 5227), and packets
// that claim one of our own addresses (an RFC 5227 conflict).
func (a *ARP) Receive(f nic.RxFrame) {
	p := Packet(f.Payload)
	if !p.valid() { // Check, without building an error nobody may read
		if a.rec.On() {
			format, args, n := p.malformedStep()
			a.dropRx(f.ID, "check", viz.ReasonARPMalformed, malformedPrefix+format, args[:n]...)
		}
		return
	}
	if f.Class == nic.ClassOtherHost {
		if a.rec.On() {
			kind, args, n := p.summaryArgs()
			args[n] = viz.MAC(f.Dst)
			a.dropRx(f.ID, "check", viz.ReasonMACNotMine, promiscuousFormats[kind], args[:n+1]...)
		}
		return
	}
	op, sha, spa, tpa := p.Op(), p.SenderMAC(), p.SenderIP(), p.TargetIP()
	if a.rec.On() {
		opName := "request"
		if op == Reply {
			opName = "reply"
		}
		kind, args, n := p.summaryArgs()
		a.step(viz.Event{Step: "check", Verdict: viz.Pass, Frame: f.ID},
			[]viz.Field{viz.F("op", opName), viz.Fv("sender_mac", viz.MAC(sha)), viz.Fv("sender_ip", viz.Addr(spa)),
				viz.Fv("target_mac", viz.MAC(p.TargetMAC())), viz.Fv("target_ip", viz.Addr(tpa))},
			summaryFormats[kind], args[:n]...)
	}
	// A group MAC or IP cannot be one station's address; learning it would
	// send unicast traffic to everyone.
	if sha.IsMulticast() || spa.IsMulticast() || spa == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		if a.rec.On() {
			a.dropRx(f.ID, "check", viz.ReasonARPMalformed,
				"sender %s / %s is a group address, not a station", viz.Addr(spa), viz.MAC(sha))
		}
		return
	}
	if spa.IsUnspecified() {
		a.receiveProbe(f, p)
		return
	}
	if a.owns(spa) {
		if a.rec.On() {
			if sha == a.nic.MAC() {
				a.dropRx(f.ID, "conflict", viz.ReasonARPConflict, "our own packet for %s came back", viz.Addr(tpa))
			} else {
				a.dropRx(f.ID, "conflict", viz.ReasonARPConflict,
					"%s claims our address %s: address conflict (RFC 5227 section 2.4)", viz.MAC(sha), viz.Addr(spa))
			}
		}
		return
	}

	// Merge: refresh what we already know about the sender.
	e := a.cache[spa]
	merged := e != nil
	var resolved *neighbor // its queued packets go out once this walk is logged
	if merged {
		was, oldMAC, requests := e.state, e.mac, e.requests
		if was == NeighborIncomplete {
			resolved = e
		}
		a.confirm(e, sha)
		if a.rec.On() {
			args := [3]viz.Arg{viz.Addr(spa), viz.MAC(sha)}
			var format string
			switch {
			case was == NeighborIncomplete:
				format, args[2] = "%s is-at %s: resolved after %d request(s)", viz.Int(requests)
			case was == NeighborFailed:
				format = "%s is-at %s: heard at last, FAILED -> REACHABLE"
			case oldMAC != sha:
				format, args[2] = "%s is-at %s: MAC changed (was %s)", viz.MAC(oldMAC)
			default:
				format, args[2] = "%s is-at %s: confirmed, REACHABLE for %v", viz.Dur(a.cfg.CacheTimeout)
			}
			n := 3
			if args[2].IsZero() {
				n = 2
			}
			a.step(viz.Event{Step: "update", Verdict: viz.Pass, Frame: f.ID},
				[]viz.Field{viz.Fv("ip", viz.Addr(spa)), viz.Fv("mac", viz.MAC(sha)),
					viz.F("from", was.String()), viz.F("to", NeighborReachable.String())},
				format, args[:n]...)
		}
	}

	switch {
	case a.owns(tpa):
		if !merged {
			e = a.insert(spa, NeighborIncomplete, f.ID)
			a.confirm(e, sha)
			if a.rec.On() {
				a.step(viz.Event{Step: "learn", Verdict: viz.Pass, Frame: f.ID},
					[]viz.Field{viz.Fv("ip", viz.Addr(spa)), viz.Fv("mac", viz.MAC(sha))},
					"learned %s is-at %s (REACHABLE for %v)", viz.Addr(spa), viz.MAC(sha), viz.Dur(a.cfg.CacheTimeout))
			}
		}
		if op == Request {
			if a.rec.On() {
				a.step(viz.Event{Step: "request", Verdict: viz.Deliver, Frame: f.ID}, nil,
					"who-has %s? tell %s: that is me, replying", viz.Addr(tpa), viz.Addr(spa))
			}
			a.reply(f.ID, p)
		} else if a.rec.On() {
			a.step(viz.Event{Step: "reply", Verdict: viz.Deliver, Frame: f.ID}, nil,
				"%s is-at %s", viz.Addr(spa), viz.MAC(sha))
		}

	case p.IsGratuitous():
		// Our rule (Linux's arp_accept=0): an announcement refreshes an
		// entry we have, and never creates one; that is RFC 826's merge
		// step, as we are not its target.
		if merged {
			if a.rec.On() {
				a.step(viz.Event{Step: "gratuitous", Verdict: viz.Deliver, Frame: f.ID},
					[]viz.Field{viz.Fv("ip", viz.Addr(spa)), viz.Fv("mac", viz.MAC(sha))},
					"gratuitous ARP from %s: entry updated, %s is-at %s", viz.Addr(spa), viz.Addr(spa), viz.MAC(sha))
			}
		} else if a.rec.On() {
			a.dropRx(f.ID, "gratuitous", viz.ReasonARPNotForMe,
				"gratuitous ARP from %s ignored: no entry (only existing entries are updated, like Linux arp_accept=0)", viz.Addr(spa))
		}

	case op == Reply && merged:
		// A reply meant for another of the sender's askers (or for 0.0.0.0,
		// answering our probe) still told us where the sender is.
		if a.rec.On() {
			a.step(viz.Event{Step: "reply", Verdict: viz.Deliver, Frame: f.ID}, nil,
				"%s is-at %s (reply for %s, not ours: used to update the cache)", viz.Addr(spa), viz.MAC(sha), viz.Addr(tpa))
		}

	default:
		if a.rec.On() {
			what := "request for"
			if op == Reply {
				what = "reply to"
			}
			a.dropRx(f.ID, "target", viz.ReasonARPNotForMe,
				"%s %s, not one of our addresses %s", viz.Str(what), viz.Addr(tpa), viz.Str(a.addrsText))
		}
	}

	if resolved != nil {
		a.flush(resolved)
	}
}

// receiveProbe handles an ARP probe (RFC 5227 section 1.1: sender IP
// 0.0.0.0, sent by a host checking that an address is free before using
// it). There is no sender address to learn. A probe for one of our
// addresses is answered, as Linux answers it: the reply defends the
// address, and the prober picks another.
func (a *ARP) receiveProbe(f nic.RxFrame, p Packet) {
	tpa := p.TargetIP()
	if p.Op() == Request && a.owns(tpa) {
		if a.rec.On() {
			a.step(viz.Event{Step: "probe", Verdict: viz.Deliver, Frame: f.ID}, nil,
				"ARP probe (RFC 5227) from %s for %s, which is ours: replying to defend it", viz.MAC(p.SenderMAC()), viz.Addr(tpa))
		}
		a.reply(f.ID, p)
		return
	}
	if a.rec.On() {
		a.dropRx(f.ID, "probe", viz.ReasonARPNotForMe,
			"ARP probe (RFC 5227) for %s, not ours: sender 0.0.0.0 has nothing to learn", viz.Addr(tpa))
	}
}

// reply answers request p (RFC 826: swap the fields, put ours in the
// sender's, op := reply) and sends it to the requester's MAC address, the
// packet's sender hardware address rather than the frame's source.
func (a *ARP) reply(reqID uint64, p Packet) {
	id := a.rec.NewFrameID()
	me, to := p.TargetIP(), p.SenderMAC()
	a.txBuf = Append(a.txBuf[:0], Reply, a.nic.MAC(), me, to, p.SenderIP())
	if a.rec.On() {
		a.step(viz.Event{Step: "reply", Verdict: viz.Send, Frame: id},
			[]viz.Field{viz.F("op", "reply"), viz.Fv("sender_ip", viz.Addr(me)), viz.Fv("target_mac", viz.MAC(to)),
				viz.Fv("request_frame", viz.U64(reqID))},
			"%s is-at %s (to %s, answering frame %d)", viz.Addr(me), viz.MAC(a.nic.MAC()), viz.MAC(to), viz.U64(reqID))
	}
	_ = a.nic.Transmit(to, nic.EtherTypeARP, a.txBuf, id) // Transmit logs its own drops
}

// ---- Logging ----

// step logs an ARP step with its message as a format and typed arguments,
// made into text by the sinks (issue 15: nothing is formatted on the
// host's event loop). Callers guard it with a.rec.On(), so that not even
// the arguments are built when nobody listens.
func (a *ARP) step(e viz.Event, fields []viz.Field, format string, args ...viz.Arg) {
	e.Layer = viz.LayerARP
	a.rec.Stepf(e, fields, format, args...)
}

// dropRx logs the end of a received frame's walk. The driver ends the walk
// (EndWalk) when Receive returns.
func (a *ARP) dropRx(id uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	a.step(viz.Event{Step: step, Verdict: viz.Drop, Reason: reason, Frame: id}, nil, format, args...)
}
