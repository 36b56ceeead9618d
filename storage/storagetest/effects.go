package storagetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func effectTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"AppliedWithResult":            testEffectsApplied,
		"NotAppliedForDuplicate":       testEffectsNotForDuplicate,
		"NotAppliedForUnknownCommand":  testEffectsNotForUnknown,
		"ErrorRollsBackWholeReport":    testEffectErrorRollsBack,
		"DeviceUnchangedWritesNothing": testDeviceEffectUnchanged,
	}
}

// effects reports OS version v: it sets the device's OSVersion, appends v
// to the "updatestate" blob, replaces the "ddmstatus" blob and adds an event.
func effects(id, v string) storage.ResultEffects {
	return storage.ResultEffects{
		Device: func(d *storage.Device) bool { d.Facts.OSVersion = v; return true },
		Events: []storage.Event{{DeviceID: id, At: at(5), Kind: "os_reported", Message: v}},
		Blobs: []storage.BlobMutation{
			{Collection: "updatestate", Mutate: func(old []byte) ([]byte, error) { return append(old, v+";"...), nil }},
			{Collection: "ddmstatus", Mutate: func([]byte) ([]byte, error) { return []byte(v), nil }},
		},
	}
}

// effectState is what effects can change.
type effectState struct {
	OSVersion   string
	UpdateState string
	DDMStatus   string
	Events      []storage.Event
}

func effectStateOf(t *testing.T, s storage.Store, id string) effectState {
	t.Helper()
	blob := func(col string) string {
		b, err := s.Blob(ctx(t), col, id)
		if errors.Is(err, storage.ErrNotFound) {
			return "<none>"
		}
		noErr(t, "Blob", err)
		return string(b)
	}
	evs, err := s.Events(ctx(t), id, 0)
	noErr(t, "Events", err)
	return effectState{device(t, s, id).Facts.OSVersion, blob("updatestate"), blob("ddmstatus"), evs}
}

// effectFixture is device a with c-1 queued and an existing update state.
func effectFixture(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "updatestate", "a", func([]byte) ([]byte, error) { return []byte("v0;"), nil }))
}

func storeWith(t *testing.T, s storage.Store, id, uuid string, fx storage.ResultEffects) (storage.ReportOutcome, error) {
	t.Helper()
	return s.StoreReport(ctx(t), result(id, uuid, "Acknowledged"), fx)
}

func testEffectsApplied(t *testing.T, s storage.Store) {
	effectFixture(t, s)
	if o, err := storeWith(t, s, "a", "c-1", effects("a", "15.4")); err != nil || o != storage.ReportStored {
		t.Fatalf("StoreReport = %s, %v", outcomeName(o), err)
	}
	st := effectStateOf(t, s, "a")
	if st.OSVersion != "15.4" || st.UpdateState != "v0;15.4;" || st.DDMStatus != "15.4" {
		t.Fatalf("effects not applied: %+v", st)
	}
	if len(st.Events) == 0 || st.Events[0].Kind != "os_reported" || st.Events[0].Message != "15.4" {
		t.Fatalf("newest event = %+v, want the effect's", st.Events)
	}
}

func testEffectsNotForDuplicate(t *testing.T, s storage.Store) {
	effectFixture(t, s)
	if _, err := storeWith(t, s, "a", "c-1", effects("a", "15.4")); err != nil {
		t.Fatal(err)
	}
	before := effectStateOf(t, s, "a")
	if o, err := storeWith(t, s, "a", "c-1", effects("a", "26.0")); err != nil || o != storage.ReportDuplicate {
		t.Fatalf("second StoreReport = %s, %v; want Duplicate", outcomeName(o), err)
	}
	if after := effectStateOf(t, s, "a"); !reflect.DeepEqual(before, after) {
		t.Fatalf("a duplicate applied effects:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testEffectsNotForUnknown(t *testing.T, s storage.Store) {
	effectFixture(t, s)
	before := effectStateOf(t, s, "a")
	if o, err := storeWith(t, s, "a", "c-unknown", effects("a", "26.0")); err != nil || o != storage.ReportUnknownCommand {
		t.Fatalf("StoreReport = %s, %v; want UnknownCommand", outcomeName(o), err)
	}
	if after := effectStateOf(t, s, "a"); !reflect.DeepEqual(before, after) {
		t.Fatalf("an unknown command applied effects:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testEffectErrorRollsBack(t *testing.T, s storage.Store) {
	effectFixture(t, s)
	before := effectStateOf(t, s, "a")
	boom := errors.New("effect failed")
	fx := effects("a", "26.0")
	fx.Blobs = append(fx.Blobs, storage.BlobMutation{Collection: "other", Mutate: func([]byte) ([]byte, error) { return nil, boom }})
	_, err := storeWith(t, s, "a", "c-1", fx)
	wantErr(t, "StoreReport with a failing effect", err, boom)
	if after := effectStateOf(t, s, "a"); !reflect.DeepEqual(before, after) {
		t.Fatalf("a failed report left changes:\nbefore %+v\nafter  %+v", before, after)
	}
	_, err = s.Result(ctx(t), "a", "c-1")
	wantErr(t, "Result after rollback", err, storage.ErrNotFound)
	if q := queueUUIDs(t, s, "a"); !reflect.DeepEqual(q, []string{"c-1"}) {
		t.Fatalf("Queue after rollback = %v, want [c-1]", q)
	}
	if o, err := storeWith(t, s, "a", "c-1", effects("a", "26.0")); err != nil || o != storage.ReportStored {
		t.Fatalf("retried StoreReport = %s, %v; want Stored", outcomeName(o), err)
	}
}

func testDeviceEffectUnchanged(t *testing.T, s storage.Store) {
	effectFixture(t, s)
	before := device(t, s, "a")
	fx := storage.ResultEffects{Device: func(d *storage.Device) bool { d.Facts.OSVersion = "junk"; return false }}
	if o, err := storeWith(t, s, "a", "c-1", fx); err != nil || o != storage.ReportStored {
		t.Fatalf("StoreReport = %s, %v", outcomeName(o), err)
	}
	if after := device(t, s, "a"); !reflect.DeepEqual(before, after) {
		t.Fatalf("Device effect returning false wrote:\nbefore %+v\nafter  %+v", before, after)
	}
}
