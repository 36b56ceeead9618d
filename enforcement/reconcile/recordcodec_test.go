package reconcile

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/binrec"
	"github.com/tidemark-mdm/tidemark/internal/binrec/binrectest"
)

func TestRecordCodecRoundTrip(t *testing.T) {
	var full Record
	binrectest.Fill(&full)
	full.Version = recordVersion
	steady := &Record{Version: recordVersion, Policies: map[string]*PolicyRecord{"p1": {
		State: enforcement.DeviceState{DeviceID: "d", PolicyID: "p1", Compliance: enforcement.Required, Since: time.Unix(9, 0).UTC()},
		Path:  enforcement.PathDDM, InScope: true, Delivered: &enforcement.EnforcementSpec{TargetOSVersion: "26.2"}}}}
	for name, r := range map[string]*Record{"every field": &full, "steady": steady, "empty": {Version: recordVersion, Policies: map[string]*PolicyRecord{}}} {
		raw, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRecord(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, r)
		}
		for cut := 1; cut < len(raw); cut++ {
			if _, err := DecodeRecord(raw[:cut]); !errors.Is(err, binrec.ErrCorrupt) {
				t.Fatalf("%s: %d of %d bytes: %v", name, cut, len(raw), err)
			}
		}
	}
}

// Records stored as JSON before the binary form are still read.
func TestRecordCodecReadsJSON(t *testing.T) {
	var full Record
	binrectest.Fill(&full)
	raw, err := json.Marshal(&full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(raw)
	if err != nil || !reflect.DeepEqual(got, &full) {
		t.Fatalf("%v\n got %+v\nwant %+v", err, got, &full)
	}
	if got, err := DecodeRecord(nil); err != nil || got.Policies == nil {
		t.Errorf("no record: %+v %v", got, err)
	}
	if _, err := DecodeRecord([]byte{binrec.Magic, recordFormat + 1}); err == nil {
		t.Error("a newer format was read")
	}
}
