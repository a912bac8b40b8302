package drill

import (
	"bytes"
	"fmt"
	"strings"
)

// Some public scripts hold two endings, chosen by the C preprocessor
// packetdrill runs them through: "#ifdef STANDARD" for what the RFCs
// say and "#ifdef FreeBSD" (or Linux) for what one system does instead.
// packetwalk is written to the RFCs, so STANDARD is defined and nothing
// else is. Lines left out become empty lines, so that line numbers in
// failures still point into the file.

// Defined is the set of names #ifdef finds defined.
var Defined = map[string]bool{"STANDARD": true}

// maxIfDepth bounds the nesting of #ifdef blocks.
const maxIfDepth = 16

// preprocess keeps the lines of the #ifdef branches that are taken.
func preprocess(name string, src []byte) ([]byte, error) {
	if !bytes.Contains(src, []byte("#if")) && !bytes.Contains(src, []byte("#e")) {
		return src, nil
	}
	lines := bytes.Split(src, []byte("\n"))
	type frame struct {
		line         int
		taking, took bool // this branch is kept; some branch was
		parentTaking bool
		sawElse      bool
	}
	var stack []frame
	taking := true
	for i, l := range lines {
		t := strings.TrimSpace(string(l))
		if !strings.HasPrefix(t, "#") {
			if !taking {
				lines[i] = nil
			}
			continue
		}
		word, arg, _ := strings.Cut(t, " ")
		arg = strings.TrimSpace(arg)
		switch word {
		case "#ifdef", "#ifndef":
			if arg == "" {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: word + " needs a name, e.g. #ifdef STANDARD"}
			}
			if len(stack) >= maxIfDepth {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: fmt.Sprintf("#ifdef blocks nested deeper than %d", maxIfDepth)}
			}
			cond := Defined[arg] == (word == "#ifdef")
			stack = append(stack, frame{line: i + 1, taking: taking && cond, took: cond, parentTaking: taking})
			taking = taking && cond
		case "#else":
			if len(stack) == 0 {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: "#else without #ifdef"}
			}
			f := &stack[len(stack)-1]
			if f.sawElse {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: "a second #else in one #ifdef block"}
			}
			f.sawElse = true
			f.taking = f.parentTaking && !f.took
			taking = f.taking
		case "#endif":
			if len(stack) == 0 {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: "#endif without #ifdef"}
			}
			taking = stack[len(stack)-1].parentTaking
			stack = stack[:len(stack)-1]
		default:
			if word == "#if" || word == "#elif" || word == "#define" || word == "#include" || word == "#undef" {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: word + " is not supported (only #ifdef, #ifndef, #else and #endif)"}
			}
			if !taking {
				lines[i] = nil
			}
			continue
		}
		lines[i] = nil
	}
	if len(stack) > 0 {
		return nil, &SyntaxError{File: name, Line: stack[len(stack)-1].line, Msg: "#ifdef without #endif"}
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// Load reads a script: its #ifdef blocks resolved, then parsed.
func Load(name string, src []byte) (*Script, error) {
	src, err := preprocess(name, src)
	if err != nil {
		return nil, err
	}
	return Parse(name, src)
}
