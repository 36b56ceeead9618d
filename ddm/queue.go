package ddm

import (
	"sort"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// EnforcementQueue previews how a device running installed treats its
// enforcement declarations, as Apple documents it: declarations whose
// TargetOSVersion is newer than installed wait in order of
// TargetLocalDateTime, earliest first, and the device works on the head of
// the queue; declarations whose version is the same or older are ignored
// (the device reports them as errors in its status). Declarations whose
// version cannot be read are ignored too.
//
// After each update the device evaluates again: call EnforcementQueue with
// the new version to see what is left. Because the earliest deadline goes
// first, a newer target due earlier can make an older target due later
// obsolete before its date.
//
// Ties on the date go to the lower version, then keep input order. A date
// that cannot be read sorts last.
func EnforcementQueue(installed osversion.Version, ds []EnforcementSpecific) (queue, ignored []EnforcementSpecific) {
	type entry struct {
		e       EnforcementSpecific
		version osversion.Version
		due     time.Time
		dueOK   bool
	}
	var pending []entry
	for _, e := range ds {
		v, err := osversion.Parse(e.TargetOSVersion)
		if err != nil || v.Compare(installed) <= 0 {
			ignored = append(ignored, e)
			continue
		}
		due, err := ParseLocalDateTime(e.TargetLocalDateTime)
		pending = append(pending, entry{e: e, version: v, due: due, dueOK: err == nil})
	}
	sort.SliceStable(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		if a.dueOK != b.dueOK {
			return a.dueOK
		}
		if !a.due.Equal(b.due) {
			return a.due.Before(b.due)
		}
		return a.version.Less(b.version)
	})
	for _, p := range pending {
		queue = append(queue, p.e)
	}
	return queue, ignored
}
