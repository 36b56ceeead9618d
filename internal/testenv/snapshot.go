package testenv

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Snapshot copies every key and value of the database, so a test can
// assert that a refused request changed nothing.
func (e *Env) Snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.Server.Store().DB().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return walk(string(name), b, out)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func walk(path string, b *bolt.Bucket, out map[string]string) error {
	return b.ForEach(func(k, v []byte) error {
		p := path + "/" + string(k)
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				return walk(p, nb, out)
			}
		}
		out[p] = string(v)
		return nil
	})
}

// AssertUnchanged fails when the database differs from before.
func (e *Env) AssertUnchanged(t testing.TB, before map[string]string) {
	t.Helper()
	after := e.Snapshot(t)
	for k, v := range after {
		if old, ok := before[k]; !ok {
			t.Errorf("storage gained %q", k)
		} else if old != v {
			t.Errorf("storage changed at %q", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("storage lost %q", k)
		}
	}
}
