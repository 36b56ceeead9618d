package ddm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
	"time"
)

// Domain-separation labels: a server token can never equal a declarations
// token, and a later change of scheme changes every token.
const (
	serverTokenLabel       = "tidemark.ddm.server-token.v1"
	declarationsTokenLabel = "tidemark.ddm.declarations-token.v1"
)

// ServerToken returns the token of a declaration: a hash of its Type,
// Identifier and canonical Payload. It changes exactly when the declaration's
// content changes, whatever the key order or spacing of the stored JSON.
// An unreadable payload gives "" (Validate refuses such a declaration).
func ServerToken(d *Declaration) string {
	if d == nil {
		return ""
	}
	payload, err := canonicalRaw(d.Payload)
	if err != nil {
		return ""
	}
	return serverToken(d.Type, d.Identifier, payload)
}

func serverToken(typ, identifier string, canonicalPayload []byte) string {
	h := sha256.New()
	writeField(h, []byte(serverTokenLabel))
	writeField(h, []byte(typ))
	writeField(h, []byte(identifier))
	writeField(h, canonicalPayload)
	return shortHex(h)
}

// writeField writes a length-prefixed field so that no two different field
// lists can hash the same bytes ("ab"+"c" versus "a"+"bc").
func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// shortHex keeps 128 bits: plenty to detect change, short on the wire.
func shortHex(h hash.Hash) string {
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// DeclarationsToken returns the token over a set of declarations. It is the
// same for the same set in any order and changes when any declaration is
// added, removed or changed. Declarations whose type is not a DDM class are
// not served and so do not count.
func DeclarationsToken(ds []*Declaration) string {
	return declarationsToken(servedItems(ds))
}

func declarationsToken(items []servedItem) string {
	h := sha256.New()
	writeField(h, []byte(declarationsTokenLabel))
	for _, it := range items {
		writeField(h, []byte(it.kind))
		writeField(h, []byte(it.Identifier))
		writeField(h, []byte(it.ServerToken))
	}
	return shortHex(h)
}

// TokensResponse is the document of the "tokens" endpoint.
type TokensResponse struct {
	SyncTokens SyncTokens `json:"SyncTokens"`
}

// SyncTokens tells the device whether to fetch declaration-items again.
type SyncTokens struct {
	DeclarationsToken string    `json:"DeclarationsToken"`
	Timestamp         time.Time `json:"Timestamp"`
}

// Tokens builds the tokens document. lastModified is when the device's set
// last changed; it is sent in UTC with whole seconds (RFC 3339).
func Tokens(ds []*Declaration, lastModified time.Time) TokensResponse {
	return TokensResponse{SyncTokens: SyncTokens{
		DeclarationsToken: DeclarationsToken(ds),
		Timestamp:         lastModified.UTC().Truncate(time.Second),
	}}
}

// DeclarationItem names one declaration in the manifest.
type DeclarationItem struct {
	Identifier  string `json:"Identifier"`
	ServerToken string `json:"ServerToken"`
}

// ManifestDeclarations groups the manifest by class; every array is always
// present (encoded as [] when empty), as Apple's schema requires.
type ManifestDeclarations struct {
	Activations    []DeclarationItem `json:"Activations"`
	Configurations []DeclarationItem `json:"Configurations"`
	Assets         []DeclarationItem `json:"Assets"`
	Management     []DeclarationItem `json:"Management"`
}

// DeclarationItemsResponse is the document of the "declaration-items"
// endpoint.
type DeclarationItemsResponse struct {
	Declarations      ManifestDeclarations `json:"Declarations"`
	DeclarationsToken string               `json:"DeclarationsToken"`
}

// DeclarationItems builds the manifest: each class sorted by identifier.
func DeclarationItems(ds []*Declaration) DeclarationItemsResponse {
	m := ManifestDeclarations{
		Activations:    []DeclarationItem{},
		Configurations: []DeclarationItem{},
		Assets:         []DeclarationItem{},
		Management:     []DeclarationItem{},
	}
	items := servedItems(ds)
	for _, it := range items {
		switch it.kind {
		case KindActivation:
			m.Activations = append(m.Activations, it.DeclarationItem)
		case KindConfiguration:
			m.Configurations = append(m.Configurations, it.DeclarationItem)
		case KindAsset:
			m.Assets = append(m.Assets, it.DeclarationItem)
		case KindManagement:
			m.Management = append(m.Management, it.DeclarationItem)
		}
	}
	return DeclarationItemsResponse{Declarations: m, DeclarationsToken: declarationsToken(items)}
}

type servedItem struct {
	DeclarationItem
	kind Kind
}

// servedItems returns the declarations a device is offered, with computed
// tokens, sorted by identifier (then class and token, so even a set with a
// repeated identifier has one order).
func servedItems(ds []*Declaration) []servedItem {
	items := make([]servedItem, 0, len(ds))
	for _, d := range ds {
		if d == nil {
			continue
		}
		k := d.Kind()
		token := ServerToken(d)
		if k == "" || token == "" {
			continue
		}
		items = append(items, servedItem{DeclarationItem{d.Identifier, token}, k})
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.Identifier != b.Identifier {
			return a.Identifier < b.Identifier
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.ServerToken < b.ServerToken
	})
	return items
}
