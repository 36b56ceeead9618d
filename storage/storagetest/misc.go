package storagetest

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

func outboxTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){"EnqueueWritesPushAckRemoves": testOutbox}
}

func testOutbox(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b", "c")
	enqueue(t, s, "c-1", "b", "a")
	enqueue(t, s, "c-2", "c")
	items, err := s.Outbox(ctx(t), 0)
	noErr(t, "Outbox", err)
	if len(items) != 2 {
		t.Fatalf("Outbox = %+v, want one item per Enqueue", items)
	}
	first := items[0]
	// The order of devices within one push item is not part of the contract.
	ids := slices.Sorted(slices.Values(first.DeviceIDs))
	if first.Kind != storage.OutboxPush || !reflect.DeepEqual(ids, []string{"a", "b"}) || !first.CreatedAt.Equal(at(2)) {
		t.Fatalf("first item = %+v, want a push to a and b at %v", first, at(2))
	}
	if !reflect.DeepEqual(items[1].DeviceIDs, []string{"c"}) || items[1].Seq <= first.Seq {
		t.Fatalf("second item = %+v, want a later push to [c]", items[1])
	}
	limited, err := s.Outbox(ctx(t), 1)
	noErr(t, "Outbox(1)", err)
	if len(limited) != 1 || limited[0].Seq != first.Seq {
		t.Fatalf("Outbox(1) = %+v, want the oldest item", limited)
	}
	noErr(t, "AckOutbox", s.AckOutbox(ctx(t), first.Seq, first.Seq+1000))
	rest, err := s.Outbox(ctx(t), 0)
	noErr(t, "Outbox", err)
	if len(rest) != 1 || rest[0].Seq != items[1].Seq {
		t.Fatalf("Outbox after Ack = %+v, want only the second item", rest)
	}
}

func challengeTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"SingleUse":           testChallengeSingleUse,
		"ExpiredRemoved":      testChallengeExpired,
		"UnknownRefused":      testChallengeUnknown,
		"DuplicateAddRefused": testChallengeDuplicate,
	}
}

func testChallengeSingleUse(t *testing.T, s storage.Store) {
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "secret-1", at(60)))
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "secret-2", at(60)))
	noErr(t, "ConsumeChallenge", s.ConsumeChallenge(ctx(t), "secret-1", at(10)))
	wantErr(t, "ConsumeChallenge twice", s.ConsumeChallenge(ctx(t), "secret-1", at(11)), storage.ErrChallengeUsed)
	noErr(t, "ConsumeChallenge(other)", s.ConsumeChallenge(ctx(t), "secret-2", at(12)))
}

func testChallengeExpired(t *testing.T, s storage.Store) {
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "secret", at(60)))
	wantErr(t, "ConsumeChallenge at expiry", s.ConsumeChallenge(ctx(t), "secret", at(60)), storage.ErrChallengeUsed)
	// Removed when found expired: a clock stepping back cannot revive it.
	wantErr(t, "ConsumeChallenge after removal", s.ConsumeChallenge(ctx(t), "secret", at(10)), storage.ErrChallengeUsed)
}

func testChallengeUnknown(t *testing.T, s storage.Store) {
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "secret", at(60)))
	wantErr(t, "ConsumeChallenge(unknown)", s.ConsumeChallenge(ctx(t), "Secret", at(1)), storage.ErrChallengeUsed)
	wantErr(t, "ConsumeChallenge(empty)", s.ConsumeChallenge(ctx(t), "", at(1)), storage.ErrChallengeUsed)
	noErr(t, "ConsumeChallenge(known)", s.ConsumeChallenge(ctx(t), "secret", at(1)))
}

func testChallengeDuplicate(t *testing.T, s storage.Store) {
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "secret", at(60)))
	wantErr(t, "AddChallenge twice", s.AddChallenge(ctx(t), "secret", at(600)), storage.ErrDuplicate)
	wantErr(t, "ConsumeChallenge past the first expiry", s.ConsumeChallenge(ctx(t), "secret", at(61)), storage.ErrChallengeUsed)
}

func blobTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"BlobRoundTrip":   testBlobRoundTrip,
		"BlobMutateError": testBlobMutateError,
		"MetaRoundTrip":   testMeta,
	}
}

func testBlobRoundTrip(t *testing.T, s storage.Store) {
	_, err := s.Blob(ctx(t), "updatestate", "a")
	wantErr(t, "Blob before any write", err, storage.ErrNotFound)
	var seen [][]byte
	put := func(v []byte) {
		noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "updatestate", "a", func(old []byte) ([]byte, error) {
			seen = append(seen, old)
			return v, nil
		}))
	}
	put([]byte(`{"v":1}`))
	put([]byte(`{"v":2}`))
	if len(seen) != 2 || seen[0] != nil || string(seen[1]) != `{"v":1}` {
		t.Fatalf("mutate saw %q, want [nil {\"v\":1}]", seen)
	}
	got, err := s.Blob(ctx(t), "updatestate", "a")
	if err != nil || string(got) != `{"v":2}` {
		t.Fatalf("Blob = %q, %v", got, err)
	}
	_, err = s.Blob(ctx(t), "ddmstatus", "a")
	wantErr(t, "Blob of another collection", err, storage.ErrNotFound)
	noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "ddmstatus", "b", func([]byte) ([]byte, error) { return []byte("B"), nil }))
	many, err := s.Blobs(ctx(t), []string{"a", "b", "c"}, "updatestate", "ddmstatus", "never-written")
	noErr(t, "Blobs", err)
	if len(many) != 3 || len(many["updatestate"]) != 1 || string(many["updatestate"]["a"]) != `{"v":2}` ||
		len(many["ddmstatus"]) != 1 || string(many["ddmstatus"]["b"]) != "B" || len(many["never-written"]) != 0 {
		t.Fatalf("Blobs = %q", many)
	}
	put(nil)
	_, err = s.Blob(ctx(t), "updatestate", "a")
	wantErr(t, "Blob after nil", err, storage.ErrNotFound)
}

func testBlobMutateError(t *testing.T, s storage.Store) {
	noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "c", "a", func([]byte) ([]byte, error) { return []byte("keep"), nil }))
	boom := errors.New("boom")
	err := s.UpdateBlob(ctx(t), "c", "a", func([]byte) ([]byte, error) { return []byte("lost"), boom })
	wantErr(t, "UpdateBlob returning an error", err, boom)
	if got, err := s.Blob(ctx(t), "c", "a"); err != nil || string(got) != "keep" {
		t.Fatalf("Blob = %q, %v; a failed mutate must write nothing", got, err)
	}
}

func testMeta(t *testing.T, s storage.Store) {
	_, err := s.Meta(ctx(t), "push.topic")
	wantErr(t, "Meta before any write", err, storage.ErrNotFound)
	noErr(t, "PutMeta", s.PutMeta(ctx(t), "push.topic", []byte("com.apple.mgmt.External.x")))
	noErr(t, "PutMeta", s.PutMeta(ctx(t), "other", []byte("y")))
	if got, err := s.Meta(ctx(t), "push.topic"); err != nil || string(got) != "com.apple.mgmt.External.x" {
		t.Fatalf("Meta = %q, %v", got, err)
	}
	noErr(t, "PutMeta(nil)", s.PutMeta(ctx(t), "push.topic", nil))
	_, err = s.Meta(ctx(t), "push.topic")
	wantErr(t, "Meta after nil", err, storage.ErrNotFound)
	if got, err := s.Meta(ctx(t), "other"); err != nil || string(got) != "y" {
		t.Fatalf("Meta(other) = %q, %v", got, err)
	}
}

func secretTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"BootstrapToken": testBootstrapToken,
		"UnlockToken":    testUnlockToken,
	}
}

func testBootstrapToken(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	_, err := s.BootstrapToken(ctx(t), "a")
	wantErr(t, "BootstrapToken before escrow", err, storage.ErrNotFound)
	noErr(t, "SetBootstrapToken", s.SetBootstrapToken(ctx(t), "a", []byte("sealed-1"), at(5)))
	if got, err := s.BootstrapToken(ctx(t), "a"); err != nil || string(got) != "sealed-1" {
		t.Fatalf("BootstrapToken = %q, %v", got, err)
	}
	if d := device(t, s, "a"); !d.BootstrapEscrowed || !d.BootstrapAt.Equal(at(5)) {
		t.Fatalf("device: escrowed %v at %v", d.BootstrapEscrowed, d.BootstrapAt)
	}
	for _, empty := range [][]byte{nil, {}} {
		noErr(t, "SetBootstrapToken(empty)", s.SetBootstrapToken(ctx(t), "a", empty, at(6)))
		_, err = s.BootstrapToken(ctx(t), "a")
		wantErr(t, "BootstrapToken after clearing", err, storage.ErrNotFound)
		if d := device(t, s, "a"); d.BootstrapEscrowed || !d.BootstrapAt.IsZero() {
			t.Fatalf("device after clearing: escrowed %v at %v", d.BootstrapEscrowed, d.BootstrapAt)
		}
	}
}

func testUnlockToken(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	_, err := s.UnlockToken(ctx(t), "a")
	wantErr(t, "UnlockToken before TokenUpdate carried one", err, storage.ErrNotFound)
	tu := pushTokens("a")
	tu.UnlockToken = []byte("unlock-1")
	update := func(tu storage.TokenUpdate, when time.Time) {
		_, err := s.TokenUpdate(ctx(t), "a", tu, when)
		noErr(t, "TokenUpdate", err)
	}
	update(tu, at(5))
	update(pushTokens("a"), at(6)) // no unlock token: keeps the stored one
	if got, err := s.UnlockToken(ctx(t), "a"); err != nil || !bytes.Equal(got, []byte("unlock-1")) {
		t.Fatalf("UnlockToken = %q, %v", got, err)
	}
	if !device(t, s, "a").HasUnlockToken {
		t.Fatal("HasUnlockToken = false")
	}
	tu.UnlockToken = []byte("unlock-2")
	update(tu, at(7))
	if got, _ := s.UnlockToken(ctx(t), "a"); string(got) != "unlock-2" {
		t.Fatalf("UnlockToken = %q, want the newest", got)
	}
}
