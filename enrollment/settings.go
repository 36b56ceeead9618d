package enrollment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// MetaKey is where Settings live in the store's meta bucket (one JSON
// document, so no bucket of its own is needed).
const MetaKey = "enrollment.min_os"

// settingsVersion is written with every document so a later format can
// tell old ones apart.
const settingsVersion = 1

// MaxRules bounds the rule list: it is scanned on every enrollment.
const MaxRules = 100

// Settings is the stored enrollment configuration.
type Settings struct {
	Version int         `json:"v"`
	Rules   []MinOSRule `json:"rules"`
	// AllowUnsigned accepts a plain XML MachineInfo (tests, manual
	// clients). Devices always sign theirs, so leave it off in production:
	// an unsigned body cannot even show it arrived intact.
	AllowUnsigned bool      `json:"allow_unsigned_machine_info"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	UpdatedBy     string    `json:"updated_by,omitempty"`
}

// InvalidSettingsError lists every problem of refused settings, so an
// admin can fix them in one go.
type InvalidSettingsError struct{ Problems []string }

func (e *InvalidSettingsError) Error() string {
	return "invalid minimum-OS settings: " + strings.Join(e.Problems, "; ")
}

// Validate checks every rule and refuses rules that can never apply.
func (s Settings) Validate() error {
	var problems []string
	if len(s.Rules) > MaxRules {
		problems = append(problems, fmt.Sprintf("%d rules, at most %d", len(s.Rules), MaxRules))
	}
	for i, r := range s.Rules {
		problems = append(problems, r.problems(i)...)
	}
	problems = append(problems, shadowed(s.Rules)...)
	if len(problems) > 0 {
		return &InvalidSettingsError{Problems: problems}
	}
	return nil
}

// SettingsStore is the storage Settings need.
type SettingsStore interface {
	Meta(ctx context.Context, key string) ([]byte, error)
	PutMeta(ctx context.Context, key string, value []byte) error
}

// LoadSettings reads the stored settings; none stored gives empty
// settings (no rules: every device enrolls).
func LoadSettings(ctx context.Context, st SettingsStore) (Settings, error) {
	raw, err := st.Meta(ctx, MetaKey)
	if errors.Is(err, storage.ErrNotFound) {
		return Settings{Version: settingsVersion, Rules: []MinOSRule{}}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("load minimum-OS settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("load minimum-OS settings: %w", err)
	}
	if s.Rules == nil {
		s.Rules = []MinOSRule{}
	}
	return s, nil
}

// SaveSettings validates and stores s, stamping version, time and actor.
func SaveSettings(ctx context.Context, st SettingsStore, s Settings, actor string, at time.Time) (Settings, error) {
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	s.Version, s.UpdatedAt, s.UpdatedBy = settingsVersion, at.UTC(), actor
	if s.Rules == nil {
		s.Rules = []MinOSRule{}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return Settings{}, err
	}
	if err := st.PutMeta(ctx, MetaKey, raw); err != nil {
		return Settings{}, fmt.Errorf("save minimum-OS settings: %w", err)
	}
	return s, nil
}
