package reconcile

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/binrec"
)

// recordFormat is the binary layout of a Record. The record is read for
// every device on every pass; in JSON its decoding was a third of a pass.
const recordFormat = 1

func encodeRecordBinary(r *Record) []byte {
	w := binrec.NewWriter(recordFormat, 400)
	w.Int(int64(r.Version))
	w.Time(r.FactsRequestedAt)
	ids := slices.Sorted(maps.Keys(r.Policies))
	w.Uint(uint64(len(ids)))
	for _, id := range ids {
		w.String(id)
		pr := r.Policies[id]
		w.Bool(pr != nil)
		if pr != nil {
			writePolicyRecord(w, pr)
		}
	}
	return w.Bytes()
}

func writePolicyRecord(w *binrec.Writer, pr *PolicyRecord) {
	s := &pr.State
	for _, v := range []string{s.DeviceID, s.PolicyID, string(s.Compliance), string(s.Step), string(s.Reason), s.Message,
		s.TargetVersion, s.TargetBuild, s.LocalDeadline} {
		w.String(v)
	}
	w.Time(s.Since)
	w.Time(s.UpdatedAt)
	w.Time(s.FirstRequiredAt)
	w.Time(s.InstalledAt)
	w.Bool(s.History != nil)
	w.Uint(uint64(len(s.History)))
	for _, h := range s.History {
		w.Time(h.At)
		for _, v := range []string{string(h.Kind), string(h.Compliance), string(h.Step), string(h.Reason), h.Target} {
			w.String(v)
		}
	}
	writeReason(w, &pr.Reason)
	w.String(string(pr.Path))
	w.Bool(pr.InScope)
	w.String(pr.PlanKey)
	w.Bool(pr.DeadlinePassed)
	w.String(pr.Ring)
	w.Bool(pr.Delivered != nil)
	if d := pr.Delivered; d != nil {
		for _, v := range []string{d.TargetOSVersion, d.TargetBuildVersion, d.TargetLocalDateTime, d.DetailsURL} {
			w.String(v)
		}
	}
	w.Bool(pr.DeliveredSettings != nil)
	if d := pr.DeliveredSettings; d != nil {
		w.String(d.DeclarationIdentifier)
		w.OptBool(d.Notifications)
		w.OptBool(d.RapidSecurityResponseEnable)
		w.Strings(d.Skipped)
	}
	w.Time(pr.DeliveredAt)
}

func writeReason(w *binrec.Writer, r *enforcement.Reason) {
	for _, v := range []string{string(r.Code), string(r.Severity), r.Message, r.Remedy} {
		w.String(v)
	}
	w.StringMap(r.Details, slices.Sorted(maps.Keys(r.Details)))
}

func decodeRecordBinary(raw []byte) (*Record, error) {
	rd := binrec.NewReader(raw)
	if rd.Failed() {
		return nil, fmt.Errorf("enforcement record: %w", rd.Err())
	}
	if rd.Version != recordFormat {
		return nil, fmt.Errorf("enforcement record format %d is not one this server reads (%d)", rd.Version, recordFormat)
	}
	r := &Record{Version: int(rd.Int()), FactsRequestedAt: rd.Time()}
	n := rd.Count()
	r.Policies = make(map[string]*PolicyRecord, n)
	for range n {
		id := rd.String()
		var pr *PolicyRecord
		if rd.Bool() {
			pr = readPolicyRecord(rd)
		}
		if rd.Failed() {
			break
		}
		r.Policies[id] = pr
	}
	if err := rd.Err(); err != nil {
		return nil, fmt.Errorf("enforcement record: %w", err)
	}
	return r, nil
}

func readPolicyRecord(rd *binrec.Reader) *PolicyRecord {
	pr := &PolicyRecord{}
	s := &pr.State
	s.DeviceID, s.PolicyID = rd.String(), rd.String()
	s.Compliance, s.Step, s.Reason = enforcement.Compliance(rd.String()), enforcement.Step(rd.String()), enforcement.Code(rd.String())
	s.Message, s.TargetVersion, s.TargetBuild, s.LocalDeadline = rd.String(), rd.String(), rd.String(), rd.String()
	s.Since, s.UpdatedAt, s.FirstRequiredAt, s.InstalledAt = rd.Time(), rd.Time(), rd.Time(), rd.Time()
	hasHistory, nh := rd.Bool(), rd.Count()
	if hasHistory {
		s.History = make([]enforcement.HistoryEntry, 0, nh)
	}
	for range nh {
		if rd.Failed() {
			break
		}
		h := enforcement.HistoryEntry{At: rd.Time()}
		h.Kind, h.Compliance, h.Step = enforcement.TransitionKind(rd.String()), enforcement.Compliance(rd.String()), enforcement.Step(rd.String())
		h.Reason, h.Target = enforcement.Code(rd.String()), rd.String()
		s.History = append(s.History, h)
	}
	pr.Reason = readReason(rd)
	pr.Path, pr.InScope, pr.PlanKey = enforcement.Path(rd.String()), rd.Bool(), rd.String()
	pr.DeadlinePassed, pr.Ring = rd.Bool(), rd.String()
	if rd.Bool() {
		pr.Delivered = &enforcement.EnforcementSpec{TargetOSVersion: rd.String(), TargetBuildVersion: rd.String(),
			TargetLocalDateTime: rd.String(), DetailsURL: rd.String()}
	}
	if rd.Bool() {
		pr.DeliveredSettings = &enforcement.SettingsSpec{DeclarationIdentifier: rd.String(), Notifications: rd.OptBool(),
			RapidSecurityResponseEnable: rd.OptBool(), Skipped: rd.Strings()}
	}
	pr.DeliveredAt = rd.Time()
	return pr
}

func readReason(rd *binrec.Reader) enforcement.Reason {
	return enforcement.Reason{Code: enforcement.Code(rd.String()), Severity: enforcement.Severity(rd.String()),
		Message: rd.String(), Remedy: rd.String(), Details: rd.StringMap()}
}
