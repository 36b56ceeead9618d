package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"
	"github.com/tidemark-mdm/tidemark/certs"
)

// SCEPFailure is a signed CertRep FAILURE from the CA.
type SCEPFailure struct {
	FailInfo scep.FailInfo
}

func (e *SCEPFailure) Error() string {
	return "SCEP request refused by the CA: " + certs.FailInfoName(e.FailInfo)
}

// ErrSCEPPending is returned when the CA answers PENDING; our server never
// does, and the simulator does not poll.
var ErrSCEPPending = errors.New("SCEP request pending at the CA")

const scepMaxReply = 1 << 20

// SCEPEnroll obtains a device identity certificate the way an Apple device
// does: fetch the CA, send a PKCSReq signed with a transient self-signed
// certificate, and decrypt the issued certificate from the CertRep.
func SCEPEnroll(ctx context.Context, hc *http.Client, scepURL, challenge, cn string, key *rsa.PrivateKey) (*x509.Certificate, error) {
	caCerts, err := scepGetCACerts(ctx, hc, scepURL)
	if err != nil {
		return nil, err
	}
	csr, err := scepBuildCSR(key, cn, challenge)
	if err != nil {
		return nil, err
	}
	transient, err := scepTransientCert(key, cn)
	if err != nil {
		return nil, err
	}
	req, err := scep.NewCSRRequest(csr, &scep.PKIMessage{
		MessageType: scep.PKCSReq,
		Recipients:  caCerts,
		SignerKey:   key,
		SignerCert:  transient,
	})
	if err != nil {
		return nil, fmt.Errorf("build SCEP request: %w", err)
	}
	reply, err := scepDo(ctx, hc, http.MethodPost, scepURL, "PKIOperation", req.Raw, certs.ContentTypePKIMessage)
	if err != nil {
		return nil, err
	}
	cert, err := scepReadCertRep(reply, req, caCerts, transient, key)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) || cert.Subject.CommonName != cn {
		return nil, fmt.Errorf("SCEP: issued certificate (CN %q) is not for this key and CN %q", cert.Subject.CommonName, cn)
	}
	return cert, nil
}

func scepGetCACerts(ctx context.Context, hc *http.Client, scepURL string) ([]*x509.Certificate, error) {
	body, err := scepDo(ctx, hc, http.MethodGet, scepURL, "GetCACert", nil, certs.ContentTypeCACert, "application/x-x509-ca-ra-cert")
	if err != nil {
		return nil, err
	}
	if cert, err := x509.ParseCertificate(body); err == nil {
		return []*x509.Certificate{cert}, nil
	}
	list, err := scep.CACerts(body)
	if err != nil {
		return nil, fmt.Errorf("SCEP GetCACert: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("SCEP GetCACert: no certificate in reply")
	}
	return list, nil
}

// scepDo sends one SCEP operation and returns the body when the status is
// 200 and the Content-Type is one of wantTypes.
func scepDo(ctx context.Context, hc *http.Client, method, scepURL, op string, body []byte, wantTypes ...string) ([]byte, error) {
	u, err := url.Parse(scepURL)
	if err != nil {
		return nil, fmt.Errorf("SCEP URL: %w", err)
	}
	q := u.Query()
	q.Set("operation", op)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", certs.ContentTypePKIMessage)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("SCEP %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, scepMaxReply))
	if err != nil {
		return nil, fmt.Errorf("SCEP %s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SCEP %s: HTTP %d: %.200s", op, resp.StatusCode, data)
	}
	ct := resp.Header.Get("Content-Type")
	for _, want := range wantTypes {
		if ct == want {
			return data, nil
		}
	}
	return nil, fmt.Errorf("SCEP %s: unexpected Content-Type %q", op, ct)
}

func scepBuildCSR(key *rsa.PrivateKey, cn, challenge string) (*x509.CertificateRequest, error) {
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}},
		ChallengePassword:  challenge,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("build CSR: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

// scepTransientCert is the throwaway self-signed certificate that signs the
// request and receives the encrypted reply, as RFC 8894 2.3 describes.
func scepTransientCert(key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("transient certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// scepReadCertRep checks that the reply is signed by the CA and answers our
// request, then returns the issued certificate or a *SCEPFailure.
func scepReadCertRep(raw []byte, req *scep.PKIMessage, caCerts []*x509.Certificate, transient *x509.Certificate, key *rsa.PrivateKey) (*x509.Certificate, error) {
	rep, err := scep.ParsePKIMessage(raw, scep.WithCACerts(caCerts))
	if err != nil {
		return nil, fmt.Errorf("SCEP reply: %w", err)
	}
	if rep.MessageType != scep.CertRep || rep.CertRepMessage == nil {
		return nil, fmt.Errorf("SCEP reply: message type %q, want CertRep", string(rep.MessageType))
	}
	if rep.TransactionID != req.TransactionID || !bytes.Equal(rep.RecipientNonce, req.SenderNonce) {
		return nil, errors.New("SCEP reply: does not answer our transaction")
	}
	switch rep.PKIStatus {
	case scep.FAILURE:
		return nil, &SCEPFailure{FailInfo: rep.FailInfo}
	case scep.PENDING:
		return nil, ErrSCEPPending
	case scep.SUCCESS:
		return scepDecryptIssued(raw, transient, key)
	}
	return nil, fmt.Errorf("SCEP reply: unknown status %q", string(rep.PKIStatus))
}

// scepDecryptIssued opens the envelope with pkcs7 directly: the scep
// package's DecryptPKIEnvelope indexes the certificate list unchecked.
func scepDecryptIssued(raw []byte, transient *x509.Certificate, key *rsa.PrivateKey) (*x509.Certificate, error) {
	outer, err := pkcs7.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("SCEP reply: %w", err)
	}
	envelope, err := pkcs7.Parse(outer.Content)
	if err != nil {
		return nil, fmt.Errorf("SCEP reply envelope: %w", err)
	}
	degenerate, err := envelope.Decrypt(transient, key)
	if err != nil {
		return nil, fmt.Errorf("SCEP reply envelope: %w", err)
	}
	issued, err := scep.CACerts(degenerate)
	if err != nil {
		return nil, fmt.Errorf("SCEP reply envelope: %w", err)
	}
	if len(issued) == 0 {
		return nil, errors.New("SCEP reply: no certificate in envelope")
	}
	return issued[0], nil
}
