package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm/push"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Meta keys of the push configuration. The private key is sealed.
const (
	metaPushCert      = "push_cert_pem"
	metaPushKeySealed = "push_key_sealed"
	metaTopic         = "generated_topic"
	pushKeyAD         = "push-cert-key"
)

// pushService owns the APNs client and drains push work from the outbox.
// Pushes are requested only through the outbox, so a device's HTTP answer
// never waits on APNs and a crash loses no push.
type pushService struct {
	srv       *Server
	log       *slog.Logger
	mu        sync.Mutex
	cert      *certs.PushCert
	client    *push.Client
	pusher    atomic.Pointer[pusherBox]
	scheduler *push.Scheduler
	wake      chan struct{}
}

type pusherBox struct{ p push.Pusher }

// swapPusher lets an uploaded certificate take effect without a restart.
type swapPusher struct{ s *pushService }

func (w swapPusher) Push(ctx context.Context, t []push.Target) []push.Outcome {
	return w.s.pusher.Load().p.Push(ctx, t)
}

func newPushService(s *Server) (*pushService, error) {
	ps := &pushService{srv: s, log: s.log.With(logkeys.Component, "push"), wake: make(chan struct{}, 1)}
	ps.pusher.Store(&pusherBox{p: push.DisabledPusher{Now: s.cfg.Now}})
	ps.scheduler = push.NewScheduler(swapPusher{ps}, ps, ps, push.WithLogger(ps.log), push.WithSchedulerClock(s.cfg.Now))
	if err := ps.loadStored(context.Background()); err != nil {
		return nil, err
	}
	return ps, nil
}

func (ps *pushService) loadStored(ctx context.Context) error {
	certPEM, err := ps.srv.store.Meta(ctx, metaPushCert)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	sealed, err := ps.srv.store.Meta(ctx, metaPushKeySealed)
	if err != nil {
		return fmt.Errorf("stored push certificate has no key: %w", err)
	}
	keyPEM, err := ps.srv.sealer.Open(sealed, []byte(pushKeyAD))
	if err != nil {
		return fmt.Errorf("opening the stored push key: %w", err)
	}
	pc, err := certs.ParsePushCert(certPEM, keyPEM, ps.srv.cfg.Now())
	if err != nil {
		// An expired certificate must not stop the server: devices still
		// check in on their own. Say so loudly instead.
		ps.log.Error("stored push certificate unusable; pushes are off", logkeys.Err, err)
		return nil
	}
	ps.install(pc)
	return nil
}

func (ps *pushService) install(pc *certs.PushCert) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.cert = pc
	if ps.client == nil {
		opts := []push.Option{push.WithClock(ps.srv.cfg.Now)}
		if ps.srv.cfg.APNsEndpoint != "" {
			opts = append(opts, push.WithEndpoint(ps.srv.cfg.APNsEndpoint))
		}
		if ps.srv.cfg.APNsHTTPClient != nil {
			opts = append(opts, push.WithHTTPClient(ps.srv.cfg.APNsHTTPClient))
		}
		ps.client = push.New(pc.TLSCertificate(), opts...)
	} else {
		ps.client.SetCertificate(pc.TLSCertificate())
	}
	ps.pusher.Store(&pusherBox{p: ps.client})
}

// enabled reports whether a push certificate is installed.
func (ps *pushService) enabled() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.cert != nil
}

// PushEnabled reports whether pushes are on.
func (s *Server) PushEnabled() bool { return s.push.enabled() }

// Topic is the push topic devices enroll with: the certificate's, or a
// stable generated one until a certificate is uploaded.
func (s *Server) Topic(ctx context.Context) (string, error) {
	s.push.mu.Lock()
	pc := s.push.cert
	s.push.mu.Unlock()
	if pc != nil {
		return pc.Topic, nil
	}
	t, err := s.store.Meta(ctx, metaTopic)
	if err == nil {
		return string(t), nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	topic := fmt.Sprintf("com.apple.mgmt.External.%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
	return topic, s.store.PutMeta(ctx, metaTopic, []byte(topic))
}

// PushCertInfo implements api.PushCerts.
func (ps *pushService) PushCertInfo(ctx context.Context) (api.PushCertInfo, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.cert == nil {
		return api.PushCertInfo{}, nil
	}
	return certInfo(ps.cert), nil
}

func certInfo(pc *certs.PushCert) api.PushCertInfo {
	return api.PushCertInfo{Configured: true, Topic: pc.Topic, NotAfter: pc.NotAfter, Subject: subjectOf(pc.Cert)}
}

func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return c.Subject.CommonName
}

// UploadPushCert implements api.PushCerts: validate, check the topic
// against enrolled devices, store (key sealed), and switch at once.
func (ps *pushService) UploadPushCert(ctx context.Context, certPEM, keyPEM []byte, force bool) (api.PushCertInfo, error) {
	pc, err := certs.ParsePushCert(certPEM, keyPEM, ps.srv.cfg.Now())
	if err != nil {
		return api.PushCertInfo{}, api.BadRequest(err.Error())
	}
	if !force {
		if err := ps.checkTopic(ctx, pc.Topic); err != nil {
			return api.PushCertInfo{}, err
		}
	}
	sealed, err := ps.srv.sealer.Seal(keyPEM, []byte(pushKeyAD))
	if err != nil {
		return api.PushCertInfo{}, err
	}
	st := ps.srv.store
	if err := st.PutMeta(ctx, metaPushKeySealed, sealed); err != nil {
		return api.PushCertInfo{}, err
	}
	if err := st.PutMeta(ctx, metaPushCert, certPEM); err != nil {
		return api.PushCertInfo{}, err
	}
	ps.install(pc)
	_ = st.AddEvents(ctx, storage.Event{At: ps.srv.cfg.Now(), Kind: "push_cert_uploaded",
		Message: fmt.Sprintf("push certificate for %s uploaded, expires %s", pc.Topic, pc.NotAfter.Format(time.DateOnly))})
	return certInfo(pc), nil
}

// checkTopic refuses a certificate whose topic differs from the one
// enrolled devices use: they would never receive its pushes.
func (ps *pushService) checkTopic(ctx context.Context, topic string) error {
	enrolled := true
	devices, err := ps.srv.store.Devices(ctx, storage.DeviceFilter{Enrolled: &enrolled})
	if err != nil {
		return err
	}
	for _, d := range devices {
		if d.Topic != "" && d.Topic != topic {
			return api.BadRequest(fmt.Sprintf("certificate topic %s differs from %s used by enrolled device %s; those devices must re-enroll (use --force to accept)",
				topic, d.Topic, d.ID))
		}
	}
	return nil
}
