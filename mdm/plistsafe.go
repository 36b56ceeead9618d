package mdm

import (
	"bytes"
	"errors"
	"fmt"
	"html"

	"github.com/micromdm/plist"
)

// Limits for device-supplied plists. plist v0.2.2 (the version we can fetch)
// has no depth limit and crashes on crafted binary plists, so every
// untrusted plist goes through DecodePlist, which pre-scans the XML cheaply
// before handing it to the library.
const (
	MaxPlistDepth    = 64
	MaxPlistElements = 200_000
)

// ErrBinaryPlist is returned for binary plists: devices send XML on every
// route we serve, and the binary parser is unsafe on untrusted input.
var ErrBinaryPlist = errors.New("binary plists are not accepted")

// DecodeError describes why a plist was refused.
type DecodeError struct {
	Reason string
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Err != nil {
		return "invalid plist: " + e.Reason + ": " + e.Err.Error()
	}
	return "invalid plist: " + e.Reason
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DecodePlist checks data for the shapes that must never reach the plist
// library (binary, too deep, too many elements, duplicate dict keys, more
// than one root value) and then decodes it into v. Wrong value types are
// reported by the library and wrapped as a DecodeError.
func DecodePlist(data []byte, v any) error {
	if err := ScanPlist(data); err != nil {
		return err
	}
	if err := plist.Unmarshal(data, v); err != nil {
		return &DecodeError{Reason: "decode", Err: err}
	}
	return nil
}

// ScanPlist validates the structure of an XML plist without building it.
func ScanPlist(data []byte) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if bytes.HasPrefix(trimmed, []byte("bplist")) {
		return &DecodeError{Reason: "binary format", Err: ErrBinaryPlist}
	}
	if len(trimmed) == 0 {
		return &DecodeError{Reason: "empty body"}
	}
	s := scanner{data: data}
	return s.run()
}

type dictKeys struct {
	small []string
	large map[string]struct{}
}

// add reports false when key was already present.
func (d *dictKeys) add(key string) bool {
	if d.large != nil {
		if _, dup := d.large[key]; dup {
			return false
		}
		d.large[key] = struct{}{}
		return true
	}
	for _, k := range d.small {
		if k == key {
			return false
		}
	}
	d.small = append(d.small, key)
	if len(d.small) > 32 {
		d.large = make(map[string]struct{}, 64)
		for _, k := range d.small {
			d.large[k] = struct{}{}
		}
		d.small = nil
	}
	return true
}

type frame struct {
	name     string
	children int
	keys     *dictKeys
}

type scanner struct {
	data     []byte
	pos      int
	stack    []frame
	elements int
	sawPlist bool
}

func (s *scanner) fail(format string, args ...any) error {
	return &DecodeError{Reason: fmt.Sprintf(format, args...)}
}

func (s *scanner) run() error {
	for {
		i := bytes.IndexByte(s.data[s.pos:], '<')
		if i < 0 {
			break
		}
		s.pos += i
		if err := s.tag(); err != nil {
			return err
		}
	}
	if len(s.stack) != 0 {
		return s.fail("unclosed element <%s>", s.stack[len(s.stack)-1].name)
	}
	if !s.sawPlist {
		return s.fail("no <plist> element")
	}
	return nil
}

func (s *scanner) skipPast(term string) error {
	j := bytes.Index(s.data[s.pos:], []byte(term))
	if j < 0 {
		return s.fail("unterminated markup")
	}
	s.pos += j + len(term)
	return nil
}

func (s *scanner) tag() error {
	rest := s.data[s.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<?")):
		return s.skipPast("?>")
	case bytes.HasPrefix(rest, []byte("<!--")):
		return s.skipPast("-->")
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return s.skipPast("]]>")
	case bytes.HasPrefix(rest, []byte("<!")):
		if len(s.stack) > 0 {
			return s.fail("declaration inside an element")
		}
		return s.skipPast(">")
	}
	end := bytes.IndexByte(rest, '>')
	if end < 0 {
		return s.fail("unterminated tag")
	}
	body := rest[1:end]
	s.pos += end + 1
	if len(body) > 0 && body[0] == '/' {
		return s.close(string(bytes.TrimSpace(body[1:])))
	}
	selfClosing := len(body) > 0 && body[len(body)-1] == '/'
	if selfClosing {
		body = body[:len(body)-1]
	}
	name := body
	if k := bytes.IndexAny(body, " \t\r\n"); k >= 0 {
		name = body[:k]
	}
	return s.open(string(name), selfClosing)
}

func (s *scanner) open(name string, selfClosing bool) error {
	if name == "" {
		return s.fail("empty element name")
	}
	s.elements++
	if s.elements > MaxPlistElements {
		return s.fail("more than %d elements", MaxPlistElements)
	}
	if len(s.stack) == 0 {
		if name != "plist" || s.sawPlist {
			return s.fail("unexpected root element <%s>", name)
		}
		s.sawPlist = true
	} else {
		parent := &s.stack[len(s.stack)-1]
		parent.children++
		if parent.name == "plist" && parent.children > 1 {
			return s.fail("more than one root value")
		}
	}
	if name == "key" && !selfClosing {
		return s.key()
	}
	if selfClosing {
		return nil
	}
	if len(s.stack) >= MaxPlistDepth {
		return s.fail("nesting deeper than %d", MaxPlistDepth)
	}
	f := frame{name: name}
	if name == "dict" {
		f.keys = &dictKeys{}
	}
	s.stack = append(s.stack, f)
	return nil
}

// key reads a <key> element's text and checks it against its dict's keys.
func (s *scanner) key() error {
	j := bytes.Index(s.data[s.pos:], []byte("</key>"))
	if j < 0 {
		return s.fail("unterminated <key>")
	}
	raw := s.data[s.pos : s.pos+j]
	s.pos += j + len("</key>")
	if bytes.IndexByte(raw, '<') >= 0 {
		return s.fail("markup inside <key>")
	}
	if len(s.stack) == 0 || s.stack[len(s.stack)-1].keys == nil {
		return s.fail("<key> outside a dict")
	}
	k := string(raw)
	if bytes.IndexByte(raw, '&') >= 0 {
		k = html.UnescapeString(k)
	}
	if !s.stack[len(s.stack)-1].keys.add(k) {
		return s.fail("duplicate key %q", k)
	}
	return nil
}

func (s *scanner) close(name string) error {
	if len(s.stack) == 0 {
		return s.fail("unexpected closing </%s>", name)
	}
	top := s.stack[len(s.stack)-1]
	if top.name != name {
		return s.fail("</%s> closes <%s>", name, top.name)
	}
	s.stack = s.stack[:len(s.stack)-1]
	return nil
}
