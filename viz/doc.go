// Package viz is packetwalk's step log and what is drawn from it.
//
// Every decision a packet meets on its walk through a host (the NIC's FCS
// check, the destination-MAC filter, the IP checksum, the TCP demux, the web
// server's seven steps) is recorded as one Event. Events are the public
// contract of packetwalk: labs grade them, the narrated trace prints them,
// the pcapng export attaches them to packets as comments, and the HTML
// report replays them. Their JSON Lines shape is documented on Event.
//
// The package root holds the event type, the enumerated drop reasons, the
// Recorder that layers call and the sinks that receive events. The clock
// that stamps them is package clock, which viz and the layers share.
// Renderers live in sub-packages.
//
// Logging costs nothing when nobody listens: a layer guards each step with
// Recorder.On, so the message is never formatted and no Event is built
// (BenchmarkStepOff shows zero allocations). When someone listens, sinks
// stream events out (to a file, to subscribers) rather than growing a slice,
// except MemorySink, which is bounded and meant for tests and short runs.
//
// See docs/design.md, "How a frame's step trail is built", for how frame
// IDs, recorders, captures and sinks make each frame's trail, and "Public
// contracts" for what of the log must not change.
package viz
