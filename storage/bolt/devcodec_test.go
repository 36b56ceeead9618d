package bolt

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/binrec"
	"github.com/tidemark-mdm/tidemark/internal/binrec/binrectest"
	"github.com/tidemark-mdm/tidemark/storage"
)

func TestDeviceCodecRoundTrip(t *testing.T) {
	var full storage.Device
	binrectest.Fill(&full)
	for name, d := range map[string]storage.Device{"every field": full, "new device": {ID: "a", FirstSeen: time.Unix(5, 0).UTC()}} {
		raw := encodeDevice(&d)
		var got storage.Device
		if err := decodeDevice(raw, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, d)
		}
		// Truncated records are refused, never half-read.
		for cut := range len(raw) {
			if err := decodeDevice(raw[:cut], &got); err == nil {
				t.Fatalf("%s: %d of %d bytes decoded without error", name, cut, len(raw))
			}
		}
	}
}

// Records written as JSON before the binary form stay readable.
func TestDeviceCodecReadsJSON(t *testing.T) {
	var full storage.Device
	binrectest.Fill(&full)
	raw, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var got storage.Device
	if err := decodeDevice(raw, &got); err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("JSON record: %v\n got %+v\nwant %+v", err, got, full)
	}
	future := append([]byte{binrec.Magic, deviceFormat + 1}, encodeDevice(&full)[2:]...)
	if err := decodeDevice(future, &got); err == nil {
		t.Error("a newer format was read")
	}
	if err := decodeDevice([]byte{binrec.Magic, deviceFormat, 0xff}, &got); !errors.Is(err, binrec.ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
}
