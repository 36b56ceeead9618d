package ddm

import (
	"errors"
	"strconv"
	"strings"
)

// ErrMalformed is matched (errors.Is) by every error about input that is not
// well-formed JSON or not the expected document shape; an HTTP caller answers
// such input with 400.
var ErrMalformed = errors.New("ddm: malformed input")

// FieldError is one problem in a declaration, located by a dotted path such as
// "Payload.Deferrals.MajorPeriodInDays" or "Payload.Beta.OfferPrograms[0].Token".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// ValidationErrors lists every problem found in a declaration, in a stable
// order, so an admin can fix them all at once.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return "invalid declaration: " + strings.Join(parts, "; ")
}

// add records a problem at path.
func (v *ValidationErrors) add(path, msg string) {
	*v = append(*v, FieldError{Path: path, Message: msg})
}

// err returns nil when there is no problem, so callers never see a non-nil
// error interface holding an empty list.
func (v ValidationErrors) err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// EndpointError says why a DeclarativeManagement Endpoint was refused.
type EndpointError struct {
	Endpoint string // the refused value, shortened to keep logs small
	Reason   string
}

func (e *EndpointError) Error() string {
	return "ddm: refused endpoint " + quoteShort(e.Endpoint) + ": " + e.Reason
}

// Is makes every EndpointError match ErrMalformed.
func (e *EndpointError) Is(target error) bool { return target == ErrMalformed }

// quoteShort quotes s for an error message, cut to 80 bytes.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
