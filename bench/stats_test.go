package bench

import (
	"strings"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: Summarize must sort
	}
	cases := []struct {
		name    string
		samples []time.Duration
		want    LatencyStats
	}{
		{"empty", nil, LatencyStats{}},
		{"one", ms(7), LatencyStats{P50: 7, P90: 7, P99: 7, Max: 7, Mean: 7}},
		{"four", ms(4, 1, 3, 2), LatencyStats{P50: 2, P90: 4, P99: 4, Max: 4, Mean: 2.5}},
		{"hundred", ms(hundred...), LatencyStats{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.samples); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	cases := []struct {
		name, line string
		user, sys  float64
		wantErr    bool
	}{
		{"plain", "4242 (tidemark) S 1 4242 4242 0 -1 4194560 9 0 0 0 1234 567 0 0 20 0 9 0 100 0 0", 12.34, 5.67, false},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 200 100 0 0", 2, 1, false},
		{"truncated", "7 (x) R 1 7", 0, 0, true},
		{"no name", "garbage", 0, 0, true},
		{"not numbers", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s 0 0", 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user, sys, err := parseProcStat([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if user != tc.user || sys != tc.sys {
				t.Errorf("user %v sys %v, want %v %v", user, sys, tc.user, tc.sys)
			}
		})
	}
}

func TestOptionsRefusals(t *testing.T) {
	ok := Options{Scenario: ScenarioIdle, Devices: 10}
	cases := []struct {
		name   string
		mutate func(o *Options)
		want   string
	}{
		{"unknown scenario", func(o *Options) { o.Scenario = "soak" }, "--scenario"},
		{"no devices", func(o *Options) { o.Devices = 0 }, "--devices"},
		{"child and server", func(o *Options) { o.Child, o.ServerURL, o.APIKey = true, "http://x", "k" }, "--child"},
		{"server without key", func(o *Options) { o.ServerURL = "http://x" }, "--api-key"},
		{"ca-dir alone", func(o *Options) { o.CADir = "/tmp" }, "--ca-dir"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mutate(&o)
			if _, err := o.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
		})
	}
	o, err := ok.withDefaults()
	if err != nil || o.Workers <= 0 || o.Pool != o.Workers || o.Iterations != 1 || o.Timeout <= 0 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}
