// Package binrec writes and reads the compact binary records Tidemark keeps
// for data read on every pass over the fleet (device records, the
// enforcement engine's per-device state). JSON costs about ten times as
// much CPU to decode, which dominated a 100,000-device reconcile pass.
//
// A record is a magic byte, a format version, then fields in a fixed
// order. Readers accept the older JSON form too (it starts with '{'), so
// records written before the switch stay readable until rewritten.
package binrec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Magic starts every binary record; JSON records start with '{'.
const Magic = 0xB7

// IsBinary tells a binary record from a JSON one.
func IsBinary(raw []byte) bool { return len(raw) > 0 && raw[0] == Magic }

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt binary record")

// Writer appends fields to a record.
type Writer struct{ b []byte }

// NewWriter starts a record of the given format version.
func NewWriter(version byte, sizeHint int) *Writer {
	w := &Writer{b: make([]byte, 0, sizeHint)}
	w.b = append(w.b, Magic, version)
	return w
}

// Bytes returns the record.
func (w *Writer) Bytes() []byte { return w.b }

func (w *Writer) Uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *Writer) Int(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *Writer) Bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// Blob writes a byte slice, keeping nil and empty apart.
func (w *Writer) Blob(b []byte) {
	if b == nil {
		w.Uint(0)
		return
	}
	w.Uint(uint64(len(b)) + 1)
	w.b = append(w.b, b...)
}

func (w *Writer) Float(f float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(f)) }

// Time writes an instant (to the nanosecond, as UTC); the zero time is
// kept as such.
func (w *Writer) Time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.Int(t.Unix())
	w.Uint(uint64(t.Nanosecond()))
}

// OptBool, OptFloat: a presence byte, then the value.
func (w *Writer) OptBool(p *bool) {
	w.Bool(p != nil)
	if p != nil {
		w.Bool(*p)
	}
}

func (w *Writer) OptFloat(p *float64) {
	w.Bool(p != nil)
	if p != nil {
		w.Float(*p)
	}
}

// Strings writes a slice, keeping nil and empty apart.
func (w *Writer) Strings(ss []string) {
	if ss == nil {
		w.Uint(0)
		return
	}
	w.Uint(uint64(len(ss)) + 1)
	for _, s := range ss {
		w.String(s)
	}
}

// StringMap writes a map in sorted key order (records are compared as bytes).
func (w *Writer) StringMap(m map[string]string, sortedKeys []string) {
	if m == nil {
		w.Uint(0)
		return
	}
	w.Uint(uint64(len(m)) + 1)
	for _, k := range sortedKeys {
		w.String(k)
		w.String(m[k])
	}
}

// Reader reads fields in the order they were written. The first error
// sticks: later reads return zero values, and Err reports it.
type Reader struct {
	b       []byte
	err     error
	Version byte
}

// NewReader checks the magic byte and reads the version.
func NewReader(raw []byte) *Reader {
	r := &Reader{b: raw}
	if len(raw) < 2 || raw[0] != Magic {
		r.fail("no binary record header")
		return r
	}
	r.Version, r.b = raw[1], raw[2:]
	return r
}

func (r *Reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	r.b = nil
}

// Err is the first error met, or one for bytes left over.
func (r *Reader) Err() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("%w: %d bytes left over", ErrCorrupt, len(r.b))
	}
	return r.err
}

// Failed reports an error so far (for loops reading counted items).
func (r *Reader) Failed() bool { return r.err != nil }

func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad unsigned varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *Reader) byte1() byte {
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *Reader) Bool() bool {
	switch r.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

// take returns the next n bytes (aliasing the input).
func (r *Reader) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("length past the end")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *Reader) String() string { return string(r.take(r.Uint())) }

// Blob returns a copy (the input may be a transaction's memory).
func (r *Reader) Blob() []byte {
	n := r.Uint()
	if n == 0 {
		return nil
	}
	return append([]byte{}, r.take(n-1)...)
}

func (r *Reader) Float() float64 {
	b := r.take(8)
	if len(b) < 8 {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (r *Reader) Time() time.Time {
	switch r.byte1() {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.fail("bad time tag")
		return time.Time{}
	}
	sec, ns := r.Int(), r.Uint()
	if ns >= 1e9 {
		r.fail("bad nanoseconds")
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

func (r *Reader) OptBool() *bool {
	if !r.Bool() {
		return nil
	}
	v := r.Bool()
	return &v
}

func (r *Reader) OptFloat() *float64 {
	if !r.Bool() {
		return nil
	}
	v := r.Float()
	return &v
}

// count reads a nil-or-length prefix; it bounds n by the bytes left, as
// every item takes at least one byte.
func (r *Reader) count() (n int, isNil bool) {
	c := r.Uint()
	if c == 0 {
		return 0, true
	}
	if c-1 > uint64(len(r.b)) {
		r.fail("count past the end")
		return 0, false
	}
	return int(c - 1), false
}

func (r *Reader) Strings() []string {
	n, isNil := r.count()
	if isNil || r.Failed() {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.String())
	}
	return out
}

func (r *Reader) StringMap() map[string]string {
	n, isNil := r.count()
	if isNil || r.Failed() {
		return nil
	}
	out := make(map[string]string, n)
	for range n {
		k := r.String()
		out[k] = r.String()
	}
	return out
}

// Count reads the length a writer gave with Uint for a list of structs.
func (r *Reader) Count() int {
	n := r.Uint()
	if n > uint64(len(r.b)) {
		r.fail("count past the end")
		return 0
	}
	return int(n)
}
