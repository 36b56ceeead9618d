package storagetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func copyTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"ReturnedSlicesAreCopies": testReturnedCopies,
		"InputSlicesAreCopied":    testInputsCopied,
		"MutateGetsACopy":         testMutateGetsCopy,
	}
}

func scribble(b []byte) {
	for i := range b {
		b[i] = 'X'
	}
}

// big pads s past a page fraction: small records can sit in inline
// structures that are copied anyway, hiding a missing copy.
func big(s string) []byte { return []byte(s + strings.Repeat(".", 3000)) }

// byteReads are every read that returns stored bytes.
func byteReads(t *testing.T, s storage.Store) map[string]func() []byte {
	must := func(b []byte, err error) []byte {
		t.Helper()
		noErr(t, "read", err)
		return b
	}
	return map[string]func() []byte{
		"Device.PushToken": func() []byte { return device(t, s, "a").PushToken },
		"Command.Raw":      func() []byte { c, err := s.Command(ctx(t), "c-1"); return must(c.Raw, err) },
		"NextCommand.Raw":  func() []byte { c, err := s.NextCommand(ctx(t), "a", true, at(3)); return must(c.Raw, err) },
		"Result.Raw":       func() []byte { r, err := s.Result(ctx(t), "a", "c-0"); return must(r.Raw, err) },
		"Results.Raw": func() []byte {
			r, err := s.Results(ctx(t), "a", 1)
			return must(r[0].Raw, err)
		},
		"Blob": func() []byte { return must(s.Blob(ctx(t), "state", "a")) },
		"Blobs": func() []byte {
			m, err := s.Blobs(ctx(t), []string{"a"}, "state")
			return must(m["state"]["a"], err)
		},
		"Meta":           func() []byte { return must(s.Meta(ctx(t), "key")) },
		"BootstrapToken": func() []byte { return must(s.BootstrapToken(ctx(t), "a")) },
		"UnlockToken":    func() []byte { return must(s.UnlockToken(ctx(t), "a")) },
	}
}

// copyFixture stores bytes of every kind from caller buffers it returns.
func copyFixture(t *testing.T, s storage.Store) [][]byte {
	authenticate(t, s, "a", certHash("a"), at(0))
	tu := storage.TokenUpdate{Topic: "t", PushMagic: "m", PushToken: []byte("push"), UnlockToken: []byte("unlock")}
	_, err := s.TokenUpdate(ctx(t), "a", tu, at(1))
	noErr(t, "TokenUpdate", err)
	c0, c1 := command("c-0"), command("c-1")
	noErr(t, "Enqueue", s.Enqueue(ctx(t), c0, []string{"a"}))
	noErr(t, "Enqueue", s.Enqueue(ctx(t), c1, []string{"a"}))
	res := result("a", "c-0", "Acknowledged")
	_, err = s.StoreReport(ctx(t), res, storage.ResultEffects{})
	noErr(t, "StoreReport", err)
	blob, meta, sealed := big("blob"), big("meta"), big("sealed")
	noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "state", "a", func([]byte) ([]byte, error) { return blob, nil }))
	noErr(t, "PutMeta", s.PutMeta(ctx(t), "key", meta))
	noErr(t, "SetBootstrapToken", s.SetBootstrapToken(ctx(t), "a", sealed, at(2)))
	return [][]byte{tu.PushToken, tu.UnlockToken, c0.Raw, c1.Raw, res.Raw, blob, meta, sealed}
}

func testReturnedCopies(t *testing.T, s storage.Store) {
	copyFixture(t, s)
	for name, read := range byteReads(t, s) {
		want := append([]byte(nil), read()...)
		scribble(read())
		if got := read(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: changing a returned slice changed the store: %q, want %q", name, got, want)
		}
	}
}

func testInputsCopied(t *testing.T, s storage.Store) {
	inputs := copyFixture(t, s)
	reads := byteReads(t, s)
	before := map[string]string{}
	for name, read := range reads {
		before[name] = string(read())
	}
	for _, in := range inputs {
		scribble(in)
	}
	for name, read := range reads {
		if got := string(read()); got != before[name] {
			t.Errorf("%s: changing the caller's buffer changed the store: %q, want %q", name, got, before[name])
		}
	}
}

func testMutateGetsCopy(t *testing.T, s storage.Store) {
	copyFixture(t, s)
	stop := errors.New("stop")
	err := s.UpdateBlob(ctx(t), "state", "a", func(old []byte) ([]byte, error) { scribble(old); return nil, stop })
	wantErr(t, "UpdateBlob", err, stop)
	if got, err := s.Blob(ctx(t), "state", "a"); err != nil || string(got) != string(big("blob")) {
		t.Fatalf("Blob = %q, %v; the mutate callback wrote through its argument", got, err)
	}
}
