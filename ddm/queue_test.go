package ddm

import (
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/osversion"
)

func enforce(version, due string) EnforcementSpecific {
	return EnforcementSpecific{TargetOSVersion: version, TargetLocalDateTime: due}
}

const (
	dec20 = "2026-12-20T10:00:00"
	jan20 = "2027-01-20T10:00:00"
)

// simulate follows a device through its queue: it installs the head, then
// evaluates again, until nothing is left. It returns the versions installed
// in order and the declarations ignored at each step.
func simulate(installed string, ds []EnforcementSpecific) (installs []string, ignoredAtEnd []EnforcementSpecific) {
	v := osversion.MustParse(installed)
	for range len(ds) + 1 {
		queue, ignored := EnforcementQueue(v, ds)
		if len(queue) == 0 {
			return installs, ignored
		}
		installs = append(installs, queue[0].TargetOSVersion+"@"+queue[0].TargetLocalDateTime)
		v = osversion.MustParse(queue[0].TargetOSVersion)
	}
	panic("queue never drains")
}

// Apple's first example: 26.1 due Dec 20 and 26.2 due Jan 20 on 26.0. The
// device installs 26.1 by Dec 20, then 26.2 by Jan 20.
func TestQueueAppleExampleSequential(t *testing.T) {
	a, b := enforce("26.1", dec20), enforce("26.2", jan20)
	queue, ignored := EnforcementQueue(osversion.MustParse("26.0"), []EnforcementSpecific{b, a})
	if !reflect.DeepEqual(queue, []EnforcementSpecific{a, b}) || ignored != nil {
		t.Errorf("queue %v ignored %v", queue, ignored)
	}
	installs, _ := simulate("26.0", []EnforcementSpecific{b, a})
	if !reflect.DeepEqual(installs, []string{"26.1@" + dec20, "26.2@" + jan20}) {
		t.Errorf("installs %v", installs)
	}
}

// Apple's second example: two declarations for 26.1. The earlier deadline
// is enforced; once 26.1 is installed the other is the same version as the
// OS and is ignored (the device reports it as an error).
func TestQueueAppleExampleSameVersionTwice(t *testing.T) {
	early, late := enforce("26.1", dec20), enforce("26.1", jan20)
	queue, _ := EnforcementQueue(osversion.MustParse("26.0"), []EnforcementSpecific{late, early})
	if !reflect.DeepEqual(queue, []EnforcementSpecific{early, late}) {
		t.Errorf("queue %v", queue)
	}
	installs, ignored := simulate("26.0", []EnforcementSpecific{late, early})
	if !reflect.DeepEqual(installs, []string{"26.1@" + dec20}) || len(ignored) != 2 {
		t.Errorf("installs %v ignored %v", installs, ignored)
	}
}

// Apple's third example: 26.1 due Jan 20 and 26.2 due Dec 20 on 26.0. The
// earliest deadline goes first, so 26.2 is installed on Dec 20; then 26.1 is
// older than the OS and is ignored: 26.1 is never installed.
func TestQueueAppleExampleNewerDueFirst(t *testing.T) {
	older, newer := enforce("26.1", jan20), enforce("26.2", dec20)
	queue, _ := EnforcementQueue(osversion.MustParse("26.0"), []EnforcementSpecific{older, newer})
	if !reflect.DeepEqual(queue, []EnforcementSpecific{newer, older}) {
		t.Errorf("queue %v", queue)
	}
	installs, ignored := simulate("26.0", []EnforcementSpecific{older, newer})
	if !reflect.DeepEqual(installs, []string{"26.2@" + dec20}) {
		t.Errorf("installs %v", installs)
	}
	if !reflect.DeepEqual(ignored, []EnforcementSpecific{older, newer}) {
		t.Errorf("after 26.2 both are ignored, got %v", ignored)
	}
}

func TestQueueIgnoresNotNewerAndUnreadable(t *testing.T) {
	same, old, bad := enforce("26.0", dec20), enforce("25.4", dec20), enforce("twenty-six", dec20)
	next := enforce("26.0.1", jan20)
	queue, ignored := EnforcementQueue(osversion.MustParse("26.0"), []EnforcementSpecific{same, next, old, bad})
	if !reflect.DeepEqual(queue, []EnforcementSpecific{next}) || !reflect.DeepEqual(ignored, []EnforcementSpecific{same, old, bad}) {
		t.Errorf("queue %v ignored %v", queue, ignored)
	}
}

func TestQueueTiesAndBadDates(t *testing.T) {
	a, b := enforce("26.2", dec20), enforce("26.1", dec20)
	noDate := enforce("26.1.1", "soon")
	queue, _ := EnforcementQueue(osversion.MustParse("26.0"), []EnforcementSpecific{noDate, a, b})
	if !reflect.DeepEqual(queue, []EnforcementSpecific{b, a, noDate}) {
		t.Errorf("queue %v", queue)
	}
	if q, i := EnforcementQueue(osversion.MustParse("26.0"), nil); q != nil || i != nil {
		t.Error("empty input")
	}
}
