package storagetest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func resultTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"HistoryBoundedNewestFirst": testResultsBounded,
		"ResultByUUID":              testResultByUUID,
		"ErrorChainKept":            testErrorChainKept,
	}
}

func testResultsBounded(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	enqueue(t, s, "c-b", "b")
	report(t, s, "b", "c-b", "Acknowledged", storage.ReportStored)
	var answered []string
	for _, uuid := range permutedUUIDs(HistoryResults + 3) {
		enqueue(t, s, uuid, "a")
		report(t, s, "a", uuid, "Acknowledged", storage.ReportStored)
		answered = append(answered, uuid)
	}
	var newestFirst []string
	for i := len(answered) - 1; i >= len(answered)-HistoryResults; i-- {
		newestFirst = append(newestFirst, answered[i])
	}
	for _, limit := range []int{0, HistoryResults + 10, 2} {
		results, err := s.Results(ctx(t), "a", limit)
		noErr(t, "Results", err)
		want := newestFirst
		if limit == 2 {
			want = newestFirst[:2]
		}
		var got []string
		for _, r := range results {
			got = append(got, r.UUID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Results(limit %d) = %v\nwant                %v", limit, got, want)
		}
	}
	_, err := s.Result(ctx(t), "a", answered[0])
	wantErr(t, "Result(oldest, trimmed)", err, storage.ErrNotFound)
	if res, _ := s.Results(ctx(t), "b", 0); len(res) != 1 || res[0].UUID != "c-b" {
		t.Fatalf("b's history touched by a's trimming: %+v", res)
	}
}

func testResultByUUID(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	want := result("a", "c-1", "Acknowledged")
	want.RequestType = "SecurityInfo"
	if _, err := s.StoreReport(ctx(t), want, storage.ResultEffects{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Result(ctx(t), "a", "c-1")
	noErr(t, "Result", err)
	if got.DeviceID != "a" || got.UUID != "c-1" || got.RequestType != "SecurityInfo" || got.Status != "Acknowledged" ||
		!got.At.Equal(want.At) || !bytes.Equal(got.Raw, want.Raw) {
		t.Fatalf("Result = %+v\nwant     %+v", got, want)
	}
	_, err = s.Result(ctx(t), "a", "c-2")
	wantErr(t, "Result(c-2)", err, storage.ErrNotFound)
}

func testErrorChainKept(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	r := result("a", "c-1", "Error")
	r.ErrorChain = []storage.ErrorChain{
		{Code: 12021, Domain: "MCMDMErrorDomain", LocalizedDescription: "Das Gerät ist nicht betreut.", USEnglishDescription: "The device is not supervised."},
		{Code: 4, Domain: "NSPOSIXErrorDomain"},
	}
	if o, err := s.StoreReport(ctx(t), r, storage.ResultEffects{}); err != nil || o != storage.ReportStored {
		t.Fatalf("StoreReport = %s, %v", outcomeName(o), err)
	}
	got, err := s.Result(ctx(t), "a", "c-1")
	noErr(t, "Result", err)
	if !reflect.DeepEqual(got.ErrorChain, r.ErrorChain) {
		t.Fatalf("ErrorChain = %+v\nwant         %+v", got.ErrorChain, r.ErrorChain)
	}
	list, err := s.Results(ctx(t), "a", 1)
	noErr(t, "Results", err)
	if len(list) != 1 || !reflect.DeepEqual(list[0].ErrorChain, r.ErrorChain) {
		t.Fatalf("Results lost the ErrorChain: %+v", list)
	}
}
