package certs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/smallstep/scep"
)

type messageTooLargeError struct{ limit int64 }

func (e *messageTooLargeError) Error() string {
	return fmt.Sprintf("SCEP message larger than %d bytes", e.limit)
}

// readPKIMessage finds the PKIOperation message in the request. Some clients
// put it in the body, some base64 in ?message=, and some do both; the body
// is tried first, then the query, and the first that parses wins.
func readPKIMessage(r *http.Request, limit int64) (*scep.PKIMessage, error) {
	body, err := readBounded(r.Body, limit)
	if err != nil {
		return nil, err
	}
	var candidates [][]byte
	if len(body) > 0 {
		candidates = append(candidates, body)
	}
	if q := r.URL.Query().Get("message"); q != "" {
		if int64(len(q)) > int64(base64.StdEncoding.EncodedLen(int(limit)))+16 {
			return nil, &messageTooLargeError{limit: limit}
		}
		if der, ok := decodeQueryMessage(q); ok {
			candidates = append(candidates, der)
		} else if len(candidates) == 0 {
			return nil, errors.New("invalid SCEP message: message parameter is not base64")
		}
	}
	if len(candidates) == 0 {
		return nil, errors.New("invalid SCEP message: no message in body or query")
	}
	var firstErr error
	for _, c := range candidates {
		msg, err := parseSCEPMessage(c)
		if err == nil {
			return msg, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func readBounded(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read SCEP message: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, &messageTooLargeError{limit: limit}
	}
	return data, nil
}

// decodeQueryMessage accepts the base64 variants clients send. A '+' that
// was not percent-encoded arrives as a space after query decoding.
func decodeQueryMessage(q string) ([]byte, bool) {
	q = strings.Map(func(c rune) rune {
		switch c {
		case ' ':
			return '+'
		case '\r', '\n':
			return -1
		}
		return c
	}, q)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if der, err := enc.DecodeString(q); err == nil {
			return der, true
		}
	}
	return nil, false
}

// parseSCEPMessage parses and signature-checks a SCEP PKIMessage from an
// untrusted client. The ASN.1 parsing lives in third-party code, so a panic
// there is turned into an error rather than trusted never to happen.
func parseSCEPMessage(der []byte) (msg *scep.PKIMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("invalid SCEP message: parser failure: %v", p)
		}
	}()
	msg, err = scep.ParsePKIMessage(der)
	if err != nil {
		return nil, fmt.Errorf("invalid SCEP message: %w", err)
	}
	return msg, nil
}

// decryptRequest opens the request's envelope with the CA key, with the same
// guard against panics in third-party parsing as parseSCEPMessage.
func decryptRequest(msg *scep.PKIMessage, ca *CA) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decrypt SCEP request: parser failure: %v", p)
		}
	}()
	return msg.DecryptPKIEnvelope(ca.cert, ca.key)
}
