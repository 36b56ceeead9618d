package demo

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemoTellsTheWholeStory runs the default demo and checks what a new
// user reads: enrollment, the policy, progress to the deadline, and every
// left-behind device with a reason and a remedy.
func TestDemoTellsTheWholeStory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	var out bytes.Buffer
	// Under the race detector the full fleet takes minutes; a smaller one
	// tells the same story.
	devices := 60
	if raceEnabled {
		devices = 30
	}
	if err := Run(context.Background(), &out, Options{Devices: devices}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"devices through SCEP",
		`Policy "latest": every device on the newest release`,
		"Devices left behind, and why:",
		"not_supervised",
		"not_checking_in",
		"(simulated: offline since enrollment)",
		"remedy: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// Nothing in the story fails often enough to pause the rollout: a
	// pause here means the engine counted a device as failed that was not.
	if strings.Contains(text, "paused itself") {
		t.Errorf("the policy paused itself:\n%s", text)
	}
	// Progress must reach most of the fleet: every device except the few
	// that are meant to be left behind.
	final := regexp.MustCompile(`(\d+) of (\d+) devices compliant`).FindStringSubmatch(text)
	if final == nil {
		t.Fatalf("no final compliance line:\n%s", text)
	}
	// Every device except the few meant to be left behind gets there.
	if n, _ := strconv.Atoi(final[1]); n < devices*80/100 {
		t.Errorf("only %s of %s devices compliant:\n%s", final[1], final[2], text)
	}
	t.Log("\n" + text)
}
