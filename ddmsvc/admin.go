package ddmsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// InvalidError refuses admin input, listing every problem found so all of
// them can be fixed at once.
type InvalidError struct {
	Msg      string
	Problems []ddm.FieldError
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 0 {
		return e.Msg
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return e.Msg + ": " + strings.Join(parts, "; ")
}

func invalid(msg string, err error) error {
	var ve ddm.ValidationErrors
	if errors.As(err, &ve) {
		return &InvalidError{Msg: msg, Problems: ve}
	}
	return &InvalidError{Msg: msg + ": " + err.Error()}
}

// PutDeclaration validates and stores an admin declaration (the JSON a
// device would receive). Unchanged content changes nothing: no new token,
// no command. Devices already holding it must be able to take it.
func (s *Service) PutDeclaration(ctx context.Context, raw []byte) (*storage.DeclarationRecord, bool, error) {
	d, err := s.parseAdminDeclaration(ctx, raw)
	if err != nil {
		return nil, false, err
	}
	if err := s.checkHolders(ctx, d); err != nil {
		return nil, false, err
	}
	rec, err := recordOf(d)
	if err != nil {
		return nil, false, err
	}
	changed, err := s.store.PutDeclaration(ctx, rec, s.now())
	if err != nil {
		return nil, false, err
	}
	if changed {
		s.nudge()
	}
	stored, err := s.store.Declaration(ctx, d.Identifier)
	return stored, changed, err
}

func (s *Service) parseAdminDeclaration(ctx context.Context, raw []byte) (*ddm.Declaration, error) {
	d, err := ddm.Parse(raw)
	if err != nil {
		return nil, invalid("declaration refused", err)
	}
	if isBuiltinID(d.Identifier) {
		return nil, &InvalidError{Msg: fmt.Sprintf("identifier %s is reserved for Tidemark's built-in declarations", d.Identifier)}
	}
	if err := ddm.Validate(d, s.knownConfiguration(ctx)); err != nil {
		return nil, invalid("declaration refused", err)
	}
	return d, nil
}

// knownConfiguration is Validate's lookup for activation references: a
// stored configuration.
func (s *Service) knownConfiguration(ctx context.Context) func(string) bool {
	return func(id string) bool {
		rec, err := s.store.Declaration(ctx, id)
		if err != nil {
			return false
		}
		return (&ddm.Declaration{Type: rec.Type}).Kind() == ddm.KindConfiguration
	}
}

// recordOf builds the stored record: canonical payload, computed token and
// the configurations an activation references.
func recordOf(d *ddm.Declaration) (storage.DeclarationRecord, error) {
	rec := storage.DeclarationRecord{Identifier: d.Identifier, Type: d.Type, Payload: d.Payload, ServerToken: ddm.ServerToken(d)}
	if d.Type == ddm.TypeActivationSimple {
		var a ddm.ActivationSimple
		if err := d.DecodePayload(&a); err != nil {
			return rec, invalid("declaration refused", err)
		}
		rec.References = a.StandardConfigurations
	}
	return rec, nil
}

// checkHolders refuses a declaration that devices already holding it
// (through its sets) cannot take on their platform.
func (s *Service) checkHolders(ctx context.Context, d *ddm.Declaration) error {
	sets, _, err := s.store.DeclarationUsage(ctx, d.Identifier)
	if err != nil {
		return err
	}
	for _, name := range sets {
		set, err := s.store.Set(ctx, name)
		if err != nil {
			return err
		}
		if err := s.checkPlatforms(ctx, []*ddm.Declaration{d}, set.Devices); err != nil {
			return err
		}
	}
	return nil
}

// checkPlatforms refuses when a declaration has a key the platform of one
// of the devices does not support, naming the device and the key. Devices
// of unknown platform are not checked.
func (s *Service) checkPlatforms(ctx context.Context, decls []*ddm.Declaration, deviceIDs []string) error {
	checked := map[string]bool{}
	for _, id := range deviceIDs {
		dev, err := s.store.Device(ctx, id)
		if err != nil {
			return err
		}
		p := dev.Facts.Platform
		if checked[p] || !knownPlatform(p) {
			continue
		}
		checked[p] = true
		for _, d := range decls {
			err := ddm.ValidateForPlatform(d, p)
			if err == nil {
				continue
			}
			var ve ddm.ValidationErrors
			if !errors.As(err, &ve) {
				return err
			}
			keys := make([]string, len(ve))
			for i, fe := range ve {
				keys[i] = strings.TrimPrefix(fe.Path, "Payload.")
			}
			return &InvalidError{Msg: fmt.Sprintf("declaration %s cannot go to device %s (%s): key %s not supported on %s",
				d.Identifier, id, p, strings.Join(keys, ", "), p), Problems: ve}
		}
	}
	return nil
}

func knownPlatform(p string) bool {
	switch p {
	case "macOS", "iOS", "iPadOS", "tvOS", "visionOS", "watchOS":
		return true
	}
	return false
}

// DeleteDeclaration deletes an admin declaration; it fails with an
// *storage.InUseError while a set or an activation uses it, and with
// storage.ErrNotFound when there is none.
func (s *Service) DeleteDeclaration(ctx context.Context, id string) error {
	changed, err := s.store.DeleteDeclaration(ctx, id)
	if err == nil && !changed {
		err = fmt.Errorf("declaration %s: %w", id, storage.ErrNotFound)
	}
	return err
}

// PutDeviceDeclaration stores a device-scoped declaration (the enforcement
// engine's per-device targets). Configurations are activated by the
// built-in activation. Unchanged content changes nothing.
func (s *Service) PutDeviceDeclaration(ctx context.Context, deviceID string, d *ddm.Declaration) (bool, error) {
	if isBuiltinID(d.Identifier) {
		return false, &InvalidError{Msg: fmt.Sprintf("identifier %s is reserved for Tidemark's built-in declarations", d.Identifier)}
	}
	if err := ddm.Validate(d, nil); err != nil {
		return false, invalid("declaration refused", err)
	}
	if err := s.checkPlatforms(ctx, []*ddm.Declaration{d}, []string{deviceID}); err != nil {
		return false, err
	}
	rec, err := recordOf(d)
	if err != nil {
		return false, err
	}
	changed, err := s.store.PutDeviceDeclaration(ctx, deviceID, rec, s.now())
	if changed {
		s.nudge()
	}
	return changed, err
}

// DeleteDeviceDeclaration removes a device-scoped declaration.
func (s *Service) DeleteDeviceDeclaration(ctx context.Context, deviceID, id string) (bool, error) {
	changed, err := s.store.DeleteDeviceDeclaration(ctx, deviceID, id, s.now())
	if changed {
		s.nudge()
	}
	return changed, err
}
