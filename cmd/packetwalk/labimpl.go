package main

import (
	"slices"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// labImpls are the student's components of implementation labs, built
// into this command by `packetwalk lab serve` (labs/impl/serve.go writes a
// copy of this package with one more file, whose init appends them: one,
// or several with --also); empty in the command as shipped, so that trace
// and serve build the stack's own components. trace puts the components
// into both of its packetwalk hosts, serve --tun/--tap into its one host.
var labImpls []*studentImpl

// studentImpl is what lab serve's generated file says about one of the
// student's components.
type studentImpl struct {
	lab, dir string // the lab's ID and the student's folder
	// what names the component on a host, after "server's": "eth0's
	// FrameFilter (the FCS check and the destination-MAC filter)".
	what string
	// layer and steps are the steps the component takes or decides
	// (every step of the layer if steps is empty): they get the field
	// impl: student. match, if set, narrows them further (a step name
	// the component shares with others, such as tcp send, which also
	// sends the receiver's ACKs).
	layer viz.Layer
	steps []string
	match func(e *viz.Event) bool
	// install puts the student's constructor into a host's configuration.
	install func(hc *stack.HostConfig, nc *nic.Config, ac *arp.Config)

	hosts []string // the hosts given the component (applyLabImpl)
}

// applyLabImpl gives host the student's components, if lab serve built
// this command; without them the configuration is left as it is.
func applyLabImpl(host string, hc *stack.HostConfig, nc *nic.Config, ac *arp.Config) {
	for _, s := range labImpls {
		s.install(hc, nc, ac)
		s.hosts = append(s.hosts, host)
	}
}

// announceLabImpl starts the step log with one line per host and
// component that runs the student's code, and marks the steps each
// component takes with impl: student. Called once the outputs listen, so
// that the lines are the first of every output.
func announceLabImpl(log *viz.Log) {
	for _, s := range labImpls {
		for _, h := range s.hosts {
			log.Recorder(h).Emit(viz.Event{Layer: viz.LayerApp, Step: "impl",
				Msg:    h + "'s " + s.what + " is the student's (" + s.dir + ")",
				Fields: []viz.Field{viz.F("lab", s.lab), viz.F("dir", s.dir)}})
		}
	}
	for _, s := range labImpls {
		if len(s.hosts) == 0 {
			continue
		}
		log.Mark(func(e *viz.Event) bool {
			return e.Layer == s.layer && (len(s.steps) == 0 || slices.Contains(s.steps, e.Step)) &&
				(s.match == nil || s.match(e)) && slices.Contains(s.hosts, e.Host)
		}, viz.F("impl", "student"))
	}
}
