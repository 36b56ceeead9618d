package mdm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// RequestDeclarativeManagement is the DeclarativeManagement request type.
const RequestDeclarativeManagement = "DeclarativeManagement"

// DeclarativeManagement turns on declarative management or asks the device
// to synchronise. Data, when set, is the tokens JSON
// ({"SyncTokens": {...}}) that tells the device what to fetch.
type DeclarativeManagement struct {
	Data []byte `plist:"Data,omitempty"`
}

// NewDeclarativeManagement builds the command around a tokens document
// (nil for a bare sync) and validates it.
func NewDeclarativeManagement(tokensJSON []byte) (DeclarativeManagement, error) {
	c := DeclarativeManagement{Data: tokensJSON}
	return c, c.Validate()
}

func (DeclarativeManagement) RequestType() string { return RequestDeclarativeManagement }

// Validate requires Data, when present, to be a JSON object whose
// SyncTokens member is an object.
func (c DeclarativeManagement) Validate() error {
	if len(c.Data) == 0 {
		return nil
	}
	var doc struct {
		SyncTokens *map[string]json.RawMessage `json:"SyncTokens"`
	}
	if err := json.Unmarshal(c.Data, &doc); err != nil {
		return fmt.Errorf("Data must be a JSON object with a SyncTokens object: %w", err)
	}
	if doc.SyncTokens == nil {
		return errors.New("Data must hold a SyncTokens object")
	}
	return nil
}

func (DeclarativeManagement) rules() commandRules {
	return commandRules{platforms: map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("15.0"), false},
		PlatformMacOS: {osversion.MustParse("13.0"), false},
		PlatformTVOS:  {osversion.MustParse("16.0"), false},
	}}
}
