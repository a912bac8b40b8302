package drill

import (
	"bytes"
	"fmt"
	"strings"
)

// The lexer cuts a script into tokens. It follows the shape of
// packetdrill's own lexer (gtests/net/packetdrill/lexer.l): whitespace
// and newlines separate tokens but otherwise do not matter, so a system
// call may span several lines, and the parser decides where one event
// ends and the next begins.
//
// Two details of packetdrill's lexer matter for the language:
//
//   - A run of letters, digits and '_' is one token, and it is a number
//     only if it is all digits (or 0x and hex digits). So "1460" is a
//     number but "00ab" is a word, which is how TCP Fast Open cookies and
//     MD5 keys are written ("FO 00ab12", "md5 000102...").
//   - Comments are "// to the end of the line" and "/* ... */", except
//     inside `commands`, %{ code }% and "strings", which are read whole.

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF      tokKind = iota
	tInt              // 123
	tHex              // 0x1f
	tFloat            // 0.100 or .1: a decimal fraction
	tWord             // a name such as SOL_SOCKET, or a hex blob such as 00ab
	tString           // "text"; text holds the decoded contents
	tCommand          // `text`; text holds the contents
	tCode             // %{ text }%; text holds the trimmed contents
	tOption           // --name or --name=value; text is the name
	tEllipsis         // ...
	tIfdef            // #ifdef NAME (NPLab); text is NAME
	tEndif            // #endif (NPLab)
	tPunct            // any other single character, such as < > : ( ) [ ] { } , = | + * ~ . ! /
)

// token is one lexical token.
type token struct {
	kind tokKind
	text string // see tokKind; for tPunct the character itself
	// value and hasValue are an option's "=value".
	value    string
	hasValue bool

	line     int // line of the token's first character, 1-based
	pos, end int // byte offsets of the token in the source
	// spaced says whether whitespace or a comment comes right before
	// the token. Flags such as "S." are two tokens with no space
	// between them; the parser glues such tokens back together.
	spaced bool
	// newline says whether a line break comes between the previous
	// token and this one, which helps to word some errors.
	newline bool
}

// describe names a token for error messages: `"<"`, `the number 12`,
// `the end of the file`.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the file"
	case tInt, tHex, tFloat:
		return "the number " + t.text
	case tWord:
		return fmt.Sprintf("%q", t.text)
	case tString:
		return fmt.Sprintf("the string %q", t.text)
	case tCommand:
		return "a `command`"
	case tCode:
		return "a %{ code }% block"
	case tOption:
		return "the option --" + t.text
	case tEllipsis:
		return `"..."`
	case tIfdef:
		return "#ifdef " + t.text
	case tEndif:
		return "#endif"
	}
	if c := t.text[0]; len(t.text) == 1 && (c < ' ' || c > '~') {
		return fmt.Sprintf("the byte %#02x", c) // unprintable or not ASCII
	}
	return fmt.Sprintf("%q", t.text)
}

// is reports whether t is the punctuation character c.
func (t token) is(c byte) bool {
	return t.kind == tPunct && len(t.text) == 1 && t.text[0] == c
}

// isWord reports whether t is the word w.
func (t token) isWord(w string) bool {
	return t.kind == tWord && t.text == w
}

// lexer reads tokens from src one at a time.
type lexer struct {
	file string
	src  []byte
	pos  int // next byte to read
	line int // line of src[pos]
}

func newLexer(file string, src []byte) *lexer {
	return &lexer{file: file, src: src, line: 1}
}

// errorf reports a syntax error at line.
func (lx *lexer) errorf(line int, format string, args ...any) {
	panic(&SyntaxError{File: lx.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// peekAt returns the byte i places ahead, or 0 past the end.
func (lx *lexer) peekAt(i int) byte {
	if lx.pos+i < len(lx.src) {
		return lx.src[lx.pos+i]
	}
	return 0
}

// advance moves past n bytes, counting newlines.
func (lx *lexer) advance(n int) {
	for i := 0; i < n && lx.pos < len(lx.src); i++ {
		if lx.src[lx.pos] == '\n' {
			lx.line++
		}
		lx.pos++
	}
}

// skipSpace skips whitespace and comments, and reports whether it
// skipped anything.
func (lx *lexer) skipSpace() bool {
	start := lx.pos
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.advance(1)
		case c == '/' && lx.peekAt(1) == '/':
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
		case c == '/' && lx.peekAt(1) == '*':
			line := lx.line
			end := bytes.Index(lx.src[lx.pos+2:], []byte("*/"))
			if end < 0 {
				lx.errorf(line, "the /* comment is never closed with */")
			}
			lx.advance(2 + end + 2)
		default:
			return lx.pos > start
		}
	}
	return lx.pos > start
}

// next returns the next token, or a tEOF token at the end.
func (lx *lexer) next() token {
	lineBefore, atStart := lx.line, lx.pos == 0
	spaced := lx.skipSpace() || atStart
	t := token{line: lx.line, pos: lx.pos, spaced: spaced, newline: lx.line > lineBefore || atStart}
	if lx.pos >= len(lx.src) {
		t.kind = tEOF
		t.end = lx.pos
		return t
	}
	c := lx.src[lx.pos]
	switch {
	case isWordByte(c):
		lx.lexWord(&t)
	case c == '.' && lx.peekAt(1) == '.' && lx.peekAt(2) == '.':
		t.kind, t.text = tEllipsis, "..."
		lx.advance(3)
	case c == '.' && isDigit(lx.peekAt(1)):
		lx.lexWord(&t) // a fraction such as .1
	case c == '"':
		lx.lexString(&t)
	case c == '`':
		lx.lexCommand(&t)
	case c == '%' && lx.peekAt(1) == '{':
		lx.lexCode(&t)
	case c == '-' && lx.peekAt(1) == '-' && isWordByte(lx.peekAt(2)):
		lx.lexOption(&t)
	case bytes.HasPrefix(lx.src[lx.pos:], []byte("#ifdef")):
		lx.lexIfdef(&t)
	case bytes.HasPrefix(lx.src[lx.pos:], []byte("#endif")):
		t.kind, t.text = tEndif, "#endif"
		lx.advance(len("#endif"))
	default:
		t.kind, t.text = tPunct, string(lx.src[lx.pos:lx.pos+1])
		lx.advance(1)
	}
	t.end = lx.pos
	return t
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func isWordByte(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_'
}

// lexWord reads a number or a word. Like packetdrill's lexer it takes
// the longest match: "1.5" is a fraction, "0x1f" hex, "00ab" a word.
func (lx *lexer) lexWord(t *token) {
	start := lx.pos
	for lx.pos < len(lx.src) && isWordByte(lx.src[lx.pos]) {
		lx.pos++
	}
	word := string(lx.src[start:lx.pos])
	allDigits := strings.Trim(word, "0123456789") == ""
	if allDigits && lx.peekAt(0) == '.' && isDigit(lx.peekAt(1)) {
		// A fraction: digits, a dot and at least one digit. Three dots
		// ("0...0.1") are an ellipsis instead, and the test above
		// sees to that because '.' is not a digit.
		lx.pos++
		for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
			lx.pos++
		}
		t.kind, t.text = tFloat, string(lx.src[start:lx.pos])
		return
	}
	t.text = word
	switch {
	case word != "" && allDigits:
		t.kind = tInt
	case len(word) > 2 && (word[:2] == "0x" || word[:2] == "0X") && strings.TrimLeft(word[2:], "0123456789abcdefABCDEF") == "":
		t.kind = tHex
	default:
		t.kind = tWord
	}
}

// lexString reads a "string", decoding the usual C escapes.
func (lx *lexer) lexString(t *token) {
	line := lx.line
	lx.advance(1) // the opening quote
	var b strings.Builder
	for {
		if lx.pos >= len(lx.src) {
			lx.errorf(line, "the string is never closed with \"")
		}
		c := lx.src[lx.pos]
		switch c {
		case '"':
			lx.advance(1)
			t.kind, t.text = tString, b.String()
			return
		case '\\':
			b.WriteByte(lx.lexEscape())
		default:
			b.WriteByte(c)
			lx.advance(1)
		}
	}
}

// simpleEscapes maps the letter after a backslash to the byte it means.
var simpleEscapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '0': 0, '\\': '\\', '"': '"', '\'': '\''}

// lexEscape decodes one backslash escape inside a string.
func (lx *lexer) lexEscape() byte {
	c := lx.peekAt(1)
	if d, ok := simpleEscapes[c]; ok {
		lx.advance(2)
		return d
	}
	if c == 'x' && isHexDigit(lx.peekAt(2)) && isHexDigit(lx.peekAt(3)) {
		v := hexValue(lx.peekAt(2))<<4 | hexValue(lx.peekAt(3))
		lx.advance(4)
		return v
	}
	if c == 0 && lx.pos+1 >= len(lx.src) {
		lx.errorf(lx.line, "the string is never closed with \"")
	}
	lx.errorf(lx.line, "unknown escape %q in a string (use \\n, \\t, \\r, \\0, \\\\, \\\" or \\xHH)", "\\"+string(c))
	return 0
}

func hexValue(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// lexCommand reads a `shell command`, which may span lines. Like
// packetdrill, a backslash keeps the next character (so \` does not
// end the command) and the text is kept as written.
func (lx *lexer) lexCommand(t *token) {
	line := lx.line
	lx.advance(1)
	start := lx.pos
	for {
		if lx.pos >= len(lx.src) {
			lx.errorf(line, "the `command` is never closed with `")
		}
		switch lx.src[lx.pos] {
		case '`':
			t.kind, t.text = tCommand, string(lx.src[start:lx.pos])
			lx.advance(1)
			return
		case '\\':
			lx.advance(2)
		default:
			lx.advance(1)
		}
	}
}

// lexCode reads a %{ code }% block, which may span lines. The text
// between the delimiters is trimmed of surrounding whitespace.
func (lx *lexer) lexCode(t *token) {
	line := lx.line
	end := bytes.Index(lx.src[lx.pos+2:], []byte("}%"))
	if end < 0 {
		lx.errorf(line, "the %%{ code block is never closed with }%%")
	}
	text := string(lx.src[lx.pos+2 : lx.pos+2+end])
	lx.advance(2 + end + 2)
	t.kind, t.text = tCode, strings.TrimSpace(text)
}

// lexOption reads "--name" and, when an '=' follows at once, the value
// up to the next whitespace or comment. The value is kept as text
// because options hold anything from numbers to IPv6 addresses
// (--local_ip=fd::1) and quoted strings (--define=CC="reno").
func (lx *lexer) lexOption(t *token) {
	lx.advance(2)
	start := lx.pos
	for lx.pos < len(lx.src) && isWordByte(lx.src[lx.pos]) {
		lx.pos++
	}
	t.kind, t.text = tOption, string(lx.src[start:lx.pos])
	if lx.peekAt(0) != '=' {
		return
	}
	lx.advance(1)
	t.hasValue = true
	start = lx.pos
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			(c == '/' && (lx.peekAt(1) == '/' || lx.peekAt(1) == '*')) {
			break
		}
		if c == '"' {
			// A quoted part may hold spaces: read to its end.
			line := lx.line
			close := bytes.IndexByte(lx.src[lx.pos+1:], '"')
			if close < 0 {
				lx.errorf(line, "the string in option --%s is never closed with \"", t.text)
			}
			lx.advance(close + 2)
			continue
		}
		lx.advance(1)
	}
	t.value = string(lx.src[start:lx.pos])
	if len(t.value) >= 2 && t.value[0] == '"' && strings.IndexByte(t.value[1:], '"') == len(t.value)-2 {
		t.value = t.value[1 : len(t.value)-1]
	}
}

// lexIfdef reads "#ifdef NAME", NPLab's conditional block.
func (lx *lexer) lexIfdef(t *token) {
	line := lx.line
	lx.advance(len("#ifdef"))
	for lx.pos < len(lx.src) && (lx.src[lx.pos] == ' ' || lx.src[lx.pos] == '\t') {
		lx.pos++
	}
	start := lx.pos
	for lx.pos < len(lx.src) && isWordByte(lx.src[lx.pos]) {
		lx.pos++
	}
	if start == lx.pos || isDigit(lx.src[start]) {
		lx.errorf(line, "#ifdef must be followed by a name on the same line")
	}
	t.kind, t.text = tIfdef, string(lx.src[start:lx.pos])
}
