package storagetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func eventTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"BoundedNewestFirst": testEventsBounded,
		"ServerEvents":       testServerEvents,
		"FieldsRoundTrip":    testEventFields,
	}
}

func addEvents(t *testing.T, s storage.Store, owner, kindPrefix string, n int) {
	t.Helper()
	for i := range n {
		ev := storage.Event{DeviceID: owner, At: at(i), Kind: fmt.Sprintf("%s%02d", kindPrefix, i)}
		noErr(t, "AddEvents", s.AddEvents(ctx(t), ev))
	}
}

func kinds(evs []storage.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func testEventsBounded(t *testing.T, s storage.Store) {
	addEvents(t, s, "b", "b", 3)
	addEvents(t, s, "a", "a", HistoryEvents+4)
	var want []string
	for i := HistoryEvents + 3; i >= 4; i-- {
		want = append(want, fmt.Sprintf("a%02d", i))
	}
	evs, err := s.Events(ctx(t), "a", 0)
	noErr(t, "Events", err)
	if got := kinds(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("Events(a) = %v\nwant        %v", got, want)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq >= evs[i-1].Seq {
			t.Fatalf("Seq not descending: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
	evs, err = s.Events(ctx(t), "a", 3)
	noErr(t, "Events", err)
	if got := kinds(evs); !reflect.DeepEqual(got, want[:3]) {
		t.Fatalf("Events(a, 3) = %v, want %v", got, want[:3])
	}
	evs, err = s.Events(ctx(t), "b", 0)
	noErr(t, "Events", err)
	if got := kinds(evs); !reflect.DeepEqual(got, []string{"b02", "b01", "b00"}) {
		t.Fatalf("Events(b) = %v; a's trimming must not touch b", got)
	}
}

func testServerEvents(t *testing.T, s storage.Store) {
	addEvents(t, s, "", "s", HistoryEvents+2)
	addEvents(t, s, "a", "a", 1)
	evs, err := s.Events(ctx(t), "", 0)
	noErr(t, "Events", err)
	if len(evs) != HistoryEvents || evs[0].Kind != fmt.Sprintf("s%02d", HistoryEvents+1) {
		t.Fatalf("server events = %v, want the newest %d", kinds(evs), HistoryEvents)
	}
	for _, e := range evs {
		if e.DeviceID != "" {
			t.Fatalf("server history holds a device event: %+v", e)
		}
	}
	if dev, _ := s.Events(ctx(t), "a", 0); len(dev) != 1 || dev[0].Kind != "a00" {
		t.Fatalf("Events(a) = %v, want [a00] only", kinds(dev))
	}
}

func testEventFields(t *testing.T, s storage.Store) {
	in := storage.Event{DeviceID: "a", At: at(42), Kind: "os_update", Message: "installing 15.4",
		Data: map[string]string{"version": "15.4", "build": "24E248"}}
	noErr(t, "AddEvents", s.AddEvents(ctx(t), in, storage.Event{DeviceID: "a", At: at(43), Kind: "second"}))
	evs, err := s.Events(ctx(t), "a", 0)
	noErr(t, "Events", err)
	if len(evs) != 2 || evs[1].Kind != "os_update" || evs[0].Kind != "second" {
		t.Fatalf("Events = %v, want [second os_update]", kinds(evs))
	}
	got := evs[1]
	if got.Seq == 0 || got.DeviceID != in.DeviceID || !got.At.Equal(in.At) || got.Message != in.Message || !reflect.DeepEqual(got.Data, in.Data) {
		t.Fatalf("event = %+v\nwant    %+v (with a Seq)", got, in)
	}
}
