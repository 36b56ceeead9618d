package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
)

// fakeAPNs is a local HTTP/2 server answering like APNs.
type fakeAPNs struct {
	mu     sync.Mutex
	pushes []recordedPush
	dead   map[string]bool // token hex → answer 410
}

type recordedPush struct {
	Token, Topic, PushType, Body string
}

func (f *fakeAPNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	token := strings.TrimPrefix(r.URL.Path, "/3/device/")
	f.mu.Lock()
	f.pushes = append(f.pushes, recordedPush{Token: token, Topic: r.Header.Get("apns-topic"),
		PushType: r.Header.Get("apns-push-type"), Body: string(body)})
	dead := f.dead[token]
	f.mu.Unlock()
	if r.ProtoMajor != 2 {
		w.WriteHeader(http.StatusHTTPVersionNotSupported)
		return
	}
	if dead {
		w.WriteHeader(http.StatusGone)
		_ = json.NewEncoder(w).Encode(map[string]any{"reason": "Unregistered", "timestamp": time.Now().UnixMilli()})
		return
	}
	w.Header().Set("apns-id", "6F3A1B2C-0000-4000-8000-000000000001")
	w.WriteHeader(http.StatusOK)
}

func (f *fakeAPNs) snapshot() []recordedPush {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedPush(nil), f.pushes...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPushOnEnqueueAndDeadTokens(t *testing.T) {
	apns := &fakeAPNs{dead: map[string]bool{}}
	ts := httptest.NewUnstartedServer(apns)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	env := testenv.Start(t, func(c *server.Config) {
		c.APNsEndpoint = ts.URL
		c.APNsHTTPClient = ts.Client()
	})
	ctx := context.Background()
	if env.Server.PushEnabled() {
		t.Fatal("pushes on without a certificate")
	}
	topic, err := env.Server.Topic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	gone := env.Enroll(t, testenv.IPhone(2, "18.6", "22G86"), 1)
	apns.dead[hex.EncodeToString([]byte("sim-token-"+gone.UDID()))] = true

	// A certificate for another topic is refused while devices use this one.
	otherPEM, otherKey, _ := certs.NewTestPushCert("com.apple.mgmt.External.00000000-1111-2222-3333-444444444444", time.Now().Add(200*24*time.Hour))
	var info api.PushCertInfo
	err = env.API.Do(ctx, http.MethodPut, "/v1/push-cert", api.PushCertUpload{CertPEM: string(otherPEM), KeyPEM: string(otherKey)}, &info)
	if err == nil || !strings.Contains(err.Error(), "re-enroll") {
		t.Fatalf("topic change accepted: %v", err)
	}
	certPEM, keyPEM, err := certs.NewTestPushCert(topic, time.Now().Add(200*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.API.Do(ctx, http.MethodPut, "/v1/push-cert", api.PushCertUpload{CertPEM: string(certPEM), KeyPEM: string(keyPEM)}, &info); err != nil {
		t.Fatal(err)
	}
	if !info.Configured || info.Topic != topic || !env.Server.PushEnabled() {
		t.Fatalf("push cert info %+v", info)
	}

	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{All: true, Type: "SecurityInfo"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two pushes", func() bool { return len(apns.snapshot()) >= 2 })
	for _, p := range apns.snapshot() {
		if p.Topic != topic || p.PushType != "mdm" || !strings.HasPrefix(p.Body, `{"mdm":"magic-`) {
			t.Errorf("push %+v", p)
		}
	}
	waitFor(t, "dead token recorded", func() bool {
		d, err := env.API.Device(ctx, gone.UDID())
		return err == nil && d.PushTokenDead
	})
	d, _ := env.API.Device(ctx, live.UDID())
	if d.PushTokenDead || d.LastPush == nil || !d.LastPush.OK {
		t.Errorf("live device push state %+v", d.LastPush)
	}
	// The queued command survives the push failure, and a TokenUpdate revives the token.
	if n, err := gone.Connect(ctx, 5); err != nil || n != 1 {
		t.Fatalf("command lost after a failed push: %d %v", n, err)
	}
	if err := gone.TokenUpdate(ctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := env.API.Device(ctx, gone.UDID()); d.PushTokenDead {
		t.Error("TokenUpdate did not clear the dead token")
	}
}
