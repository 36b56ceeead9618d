package ddmsvc

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
)

// maxCachedDocs bounds each cache; past it the cache starts afresh, which
// costs one rebuild per distinct declaration set.
const maxCachedDocs = 4096

// docCache memoizes documents that are pure functions of declarations'
// content: the tokens and manifest served to devices (ddm hashes every
// payload again to build them) and the per-device built-in activation.
// Devices holding the same declarations share one entry, so a fleet costs
// one build per distinct set, not one per request. Keys hash the full
// content, so a stale entry can never be served.
type docCache struct {
	mu   sync.Mutex
	docs map[[sha256.Size]byte][]byte
	acts map[string]*ddm.Declaration
}

func newDocCache() *docCache {
	return &docCache{docs: map[[sha256.Size]byte][]byte{}, acts: map[string]*ddm.Declaration{}}
}

// doc returns the document for key, building and keeping it on a miss.
func (c *docCache) doc(key [sha256.Size]byte, build func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.docs[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.docs) >= maxCachedDocs {
		clear(c.docs)
	}
	c.docs[key] = b
	c.mu.Unlock()
	return b, nil
}

// activation returns the built-in activation of configs, building it once.
func (c *docCache) activation(configs []string) (*ddm.Declaration, error) {
	key := strings.Join(configs, "\x00")
	c.mu.Lock()
	act, ok := c.acts[key]
	c.mu.Unlock()
	if ok {
		return act, nil
	}
	act, err := ddm.NewActivation(ActivationID, configs)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.acts) >= maxCachedDocs {
		clear(c.acts)
	}
	c.acts[key] = act
	c.mu.Unlock()
	return act, nil
}

// contentKey hashes what a document built from h depends on: the
// endpoint, every declaration's type, identifier and payload, and (for
// tokens) the time the set last changed.
func contentKey(endpoint string, h *holdings, withTime bool) [sha256.Size]byte {
	sum := sha256.New()
	field(sum, []byte(endpoint))
	if withTime {
		field(sum, []byte(h.lastModified.UTC().Truncate(time.Second).Format(time.RFC3339)))
	}
	for _, d := range h.decls {
		field(sum, []byte(d.Type))
		field(sum, []byte(d.Identifier))
		field(sum, d.Payload)
	}
	var out [sha256.Size]byte
	sum.Sum(out[:0])
	return out
}

// field writes a length-prefixed field, so field boundaries cannot shift.
func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
