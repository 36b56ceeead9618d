package policysvc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// serverOwned are the policy fields the server sets; they are not part of
// what an admin changes.
var serverOwned = []string{"id", "created_at", "updated_at", "version", "paused"}

// flatten turns a policy into dotted field paths with compact JSON values
// ("target.os_version" → `"26.2"`); lists stay one value.
func flatten(p *enforcement.Policy) map[string]string {
	out := map[string]string{}
	if p == nil {
		return out
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return out // a Policy always marshals; an empty map only loses the diff
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return out
	}
	for _, k := range serverOwned {
		delete(tree, k)
	}
	flattenInto(out, "", tree)
	return out
}

func flattenInto(out map[string]string, path string, v any) {
	if m, ok := v.(map[string]any); ok {
		for k, child := range m {
			name := k
			if path != "" {
				name = path + "." + k
			}
			flattenInto(out, name, child)
		}
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	out[path] = string(b)
}

// diffPolicies lists the changed fields, sorted, as `path: old → new`;
// "(none)" stands for an unset field. With old nil it lists every set
// field, which describes a new policy.
func diffPolicies(old, next *enforcement.Policy) []string {
	a, b := flatten(old), flatten(next)
	union := maps.Clone(a)
	maps.Copy(union, b)
	keys := slices.Sorted(maps.Keys(union))
	var out []string
	for _, k := range keys {
		before, had := a[k]
		after, has := b[k]
		if had && has && before == after {
			continue
		}
		if !had {
			before = "(none)"
		}
		if !has {
			after = "(none)"
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", k, before, after))
	}
	return out
}

// describePolicy is a one-line summary for event messages.
func describePolicy(p *enforcement.Policy) string {
	t := string(p.Target.Kind)
	switch p.Target.Kind {
	case enforcement.TargetVersion:
		t = strings.TrimSpace(p.Target.OSVersion + " " + p.Target.BuildVersion)
	case enforcement.TargetLatestMajor:
		t = "latest " + strconv.Itoa(p.Target.Major) + ".x"
	}
	return fmt.Sprintf("%q (target %s)", p.Name, t)
}

// policyEvent records who changed which policy how. Data keeps the full
// change list; the message names the first few.
func policyEvent(at time.Time, result string, p *enforcement.Policy, o WriteOptions, changes, warnings []string) storage.Event {
	msg := fmt.Sprintf("policy %s %s by %s (version %d)", p.ID, result, o.Actor, p.Version)
	if len(changes) > 0 {
		msg += ": " + listUpTo(changes, maxListed)
	}
	data := map[string]string{
		"policy_id": p.ID, "actor": o.Actor, "result": result,
		"version": strconv.Itoa(p.Version), "changes": strings.Join(changes, "\n"),
	}
	if o.Force {
		data["forced"] = "true"
	}
	if len(warnings) > 0 {
		data["warnings"] = strings.Join(warnings, "\n")
	}
	return storage.Event{At: at, Kind: "policy_" + result, Message: msg, Data: data}
}
