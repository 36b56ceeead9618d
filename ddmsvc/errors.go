package ddmsvc

import (
	"net/http"

	"github.com/tidemark-mdm/tidemark/mdm"
)

// RequestError is a DeclarativeManagement request the service refuses.
// HTTPStatus is what the device should get: 400 for a bad endpoint or a
// malformed status report, 404 for a declaration the device does not hold.
type RequestError struct {
	Status int
	Reason string
	Err    error
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *RequestError) Unwrap() error { return e.Err }

// HTTPStatus is the status a device gets for this refusal.
func (e *RequestError) HTTPStatus() int { return e.Status }

// As lets an HTTP layer that only knows *mdm.DecodeError (a client error,
// 400) still answer with a client error rather than 500. One that checks
// for HTTPStatus first answers the exact status.
func (e *RequestError) As(target any) bool {
	de, ok := target.(**mdm.DecodeError)
	if !ok {
		return false
	}
	*de = &mdm.DecodeError{Reason: "DeclarativeManagement: " + e.Reason, Err: e.Err}
	return true
}

func badRequest(reason string, err error) error {
	return &RequestError{Status: http.StatusBadRequest, Reason: reason, Err: err}
}

func notFound(reason string) error {
	return &RequestError{Status: http.StatusNotFound, Reason: reason}
}
