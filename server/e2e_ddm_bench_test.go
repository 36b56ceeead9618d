package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/storage"
)

// BenchmarkDDMTokens1k and BenchmarkDDMTokens100k measure the server CPU of
// signed DDM "tokens" and "declaration-items" check-ins (alternating)
// through the real /mdm handler, with 1,000 and 100,000 devices enrolled
// and assigned the same set. The cost must not grow with the fleet.
func BenchmarkDDMTokens1k(b *testing.B)   { benchDDMTokens(b, 1_000) }
func BenchmarkDDMTokens100k(b *testing.B) { benchDDMTokens(b, 100_000) }

func benchDDMTokens(b *testing.B, fleet int) {
	srv := newBenchServer(b)
	devs := enrollBenchDevices(b, srv, 32)
	ids := seedFleet(b, srv, fleet-len(devs))
	for _, d := range devs {
		ids = append(ids, d.udid)
	}
	assignBenchSet(b, srv, ids)
	h := srv.Handler()
	for _, d := range devs { // first contact records the DDM check-in
		serve(b, h, signedRequest(b, d, true, ddmBody(d.udid, "tokens")))
	}
	measure(b, func(i int) *http.Request {
		d := devs[i%len(devs)]
		endpoint := "tokens"
		if i%2 == 1 {
			endpoint = "declaration-items"
		}
		return signedRequest(b, d, true, ddmBody(d.udid, endpoint))
	}, h)
}

func ddmBody(udid, endpoint string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` +
		`<key>Endpoint</key><string>` + endpoint + `</string>` +
		`<key>MessageType</key><string>DeclarativeManagement</string>` +
		`<key>UDID</key><string>` + udid + `</string></dict></plist>`)
}

// seedFleet writes n enrolled devices straight into the database, in
// batches: enrolling them one transaction each would take minutes. The
// records are the ones the store itself writes (storage.Device in the
// "devices" bucket, an "enrolled" index entry, a certificate binding);
// the count is checked through the store afterwards.
func seedFleet(b *testing.B, srv *server.Server, n int) []string {
	b.Helper()
	ids := make([]string, n)
	now := time.Now().UTC()
	for start := 0; start < n; start += 10_000 {
		err := srv.Store().DB().Update(func(tx *bbolt.Tx) error {
			for i := start; i < min(start+10_000, n); i++ {
				ids[i] = fmt.Sprintf("FLEET-%08d", i)
				hash := fmt.Sprintf("%064x", i)
				d := storage.Device{Version: 1, ID: ids[i], Enrolled: true, FirstSeen: now, EnrolledAt: now, CertHash: hash,
					Topic: "com.apple.mgmt.External.bench", PushMagic: "magic", PushToken: []byte(ids[i]),
					Facts: storage.Facts{Platform: "macOS", OSVersion: "15.7.1", BuildVersion: "24G231"}}
				raw, err := json.Marshal(d)
				if err != nil {
					return err
				}
				if err := putAll(tx, [][3]string{{"devices", ids[i], string(raw)}, {"enrolled", ids[i], ""},
					{"certbind", "h:" + hash, ids[i]}, {"certbind", "d:" + ids[i], hash}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	enrolled := true
	all, err := srv.Store().Devices(context.Background(), storage.DeviceFilter{Enrolled: &enrolled})
	if err != nil || len(all) < n {
		b.Fatalf("seeded %d devices, the store lists %d (%v): the record layout changed", n, len(all), err)
	}
	return ids
}

func putAll(tx *bbolt.Tx, kvs [][3]string) error {
	for _, kv := range kvs {
		bucket := tx.Bucket([]byte(kv[0]))
		if bucket == nil {
			return fmt.Errorf("no bucket %q", kv[0])
		}
		if err := bucket.Put([]byte(kv[1]), []byte(kv[2])); err != nil {
			return err
		}
	}
	return nil
}

// assignBenchSet gives every device the same set: an enforcement
// declaration, a settings declaration and their activation.
func assignBenchSet(b *testing.B, srv *server.Server, ids []string) {
	b.Helper()
	ctx := context.Background()
	for _, doc := range []string{
		enforcementJSON("26.1", "25B78"),
		`{"Type":"com.apple.configuration.softwareupdate.settings","Identifier":"bench.settings","Payload":{"Notifications":false}}`,
		`{"Type":"com.apple.activation.simple","Identifier":"bench.activation","Payload":{"StandardConfigurations":["` + enforceID + `","bench.settings"]}}`,
	} {
		if _, _, err := srv.DDM().PutDeclaration(ctx, []byte(doc)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := srv.DDM().UpdateSet(ctx, "bench", []string{enforceID, "bench.settings", "bench.activation"}, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Store().AssignSet(ctx, "bench", ids, time.Now()); err != nil {
		b.Fatal(err)
	}
}
