package ladder

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteMermaid writes the ladder as a Mermaid sequenceDiagram: one
// participant per host, one message per frame (a cross at the end, -x,
// for a frame that never arrived), a note for each state change shown and
// for each drop. Participants are declared as P1, P2, ... with the host's
// name as their label, so any host name is safe; message text is escaped
// with Mermaid's entity codes (#lt; #gt; #35; #59;).
func (b *Builder) WriteMermaid(w io.Writer) error {
	cols, rows, more := b.snapshot()
	var out strings.Builder
	out.WriteString("sequenceDiagram\n")
	id := func(h string) string { return "P" + strconv.Itoa(index(cols, h)+1) }
	for _, h := range cols {
		fmt.Fprintf(&out, "    participant %s as %s\n", id(h), mermaidText(h))
	}
	last := map[string]string{} // the state last shown per host
	note := func(h, s string) {
		fmt.Fprintf(&out, "    Note over %s: %s\n", id(h), mermaidText(s))
	}
	for _, r := range rows {
		if r.Kind == rowFrame && index(cols, r.From) >= 0 {
			text := mermaidText(fmt.Sprintf("[%d] %s", r.Frame, r.Label))
			t := target(cols, &r)
			switch {
			case t < 0: // a single host: nobody to draw an arrow to
				note(r.From, fmt.Sprintf("[%d] %s: DROP %s", r.Frame, r.Label, r.Drop))
			case r.Drop != "":
				to := cols[t]
				fmt.Fprintf(&out, "    %s-x%s: %s\n", id(r.From), id(to), text)
				note(to, "DROP "+string(r.Drop))
			default:
				fmt.Fprintf(&out, "    %s->>%s: %s\n", id(r.From), id(cols[t]), text)
			}
		}
		for _, s := range r.States {
			if index(cols, s.Host) >= 0 && last[s.Host] != s.State {
				last[s.Host] = s.State
				note(s.Host, s.State)
			}
		}
	}
	if more > 0 && len(cols) > 0 {
		over := id(cols[0])
		if len(cols) > 1 {
			over += "," + id(cols[len(cols)-1])
		}
		fmt.Fprintf(&out, "    Note over %s: ... %d more frames not shown\n", over, more)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// mermaidText escapes what Mermaid would read as markup or syntax: '#'
// starts an entity, ';' ends a statement, '<' '>' would be taken for
// HTML, and a line break ends the message.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '#':
			b.WriteString("#35;")
		case ';':
			b.WriteString("#59;")
		case '<':
			b.WriteString("#lt;")
		case '>':
			b.WriteString("#gt;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
