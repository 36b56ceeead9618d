package mdm

import "fmt"

// ScheduleOSUpdateResponse is a device's answer to ScheduleOSUpdate.
type ScheduleOSUpdateResponse struct {
	ResponseHeader
	UpdateResults []UpdateResult `plist:"UpdateResults"`
	Warnings      []string       `plist:"-"`
}

// UpdateResult is what the device scheduled for one requested update.
type UpdateResult struct {
	ProductKey    string           `plist:"ProductKey"`
	InstallAction string           `plist:"InstallAction"` // "Error" when scheduling failed
	Status        string           `plist:"Status"`
	ErrorChain    []ErrorChainItem `plist:"ErrorChain,omitempty"`
}

type scheduleWire struct {
	ResponseHeader
	UpdateResults *[]UpdateResult `plist:"UpdateResults,omitempty"`
}

// DecodeScheduleOSUpdate decodes a ScheduleOSUpdate response. Unknown
// InstallAction and Status values are kept and listed in Warnings.
func DecodeScheduleOSUpdate(raw []byte) (*ScheduleOSUpdateResponse, error) {
	var w scheduleWire
	if err := decodeResponse(raw, RequestScheduleOSUpdate, &w, func() bool { return w.UpdateResults != nil }); err != nil {
		return nil, err
	}
	r := &ScheduleOSUpdateResponse{ResponseHeader: w.ResponseHeader}
	if w.UpdateResults == nil {
		return r, nil
	}
	r.UpdateResults = *w.UpdateResults
	for i := range r.UpdateResults {
		res := &r.UpdateResults[i]
		if len(res.ErrorChain) == 0 {
			res.ErrorChain = nil
		}
		for _, msg := range res.warnings() {
			r.Warnings = append(r.Warnings, fmt.Sprintf("result %d (%s): %s", i, res.ProductKey, msg))
		}
	}
	return r, nil
}

// MarshalPlist writes UpdateResults only when there is a result.
func (r ScheduleOSUpdateResponse) MarshalPlist() (any, error) {
	w := scheduleWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || len(r.UpdateResults) > 0 {
		res := r.UpdateResults
		if res == nil {
			res = []UpdateResult{}
		}
		w.UpdateResults = &res
	}
	return w, nil
}

func (r UpdateResult) warnings() []string {
	var w []string
	if r.ProductKey == "" {
		w = append(w, "missing ProductKey")
	}
	if !IsKnownInstallAction(r.InstallAction) {
		w = append(w, fmt.Sprintf("unknown InstallAction %q", r.InstallAction))
	}
	if !IsKnownUpdateStatus(r.Status) {
		w = append(w, fmt.Sprintf("unknown Status %q", r.Status))
	}
	return w
}

// IsKnownInstallAction reports whether s is a documented InstallAction,
// including the response-only "Error".
func IsKnownInstallAction(s string) bool {
	_, ok := installActionSince[s]
	return ok || s == InstallActionError
}

// IsKnown reports whether both InstallAction and Status are documented.
func (r UpdateResult) IsKnown() bool {
	return IsKnownInstallAction(r.InstallAction) && IsKnownUpdateStatus(r.Status)
}

// ScheduleOSUpdateScanResponse is a Mac's answer to ScheduleOSUpdateScan.
type ScheduleOSUpdateScanResponse struct {
	ResponseHeader
	ScanInitiated bool `plist:"ScanInitiated"`
}

type scanWire struct {
	ResponseHeader
	ScanInitiated *bool `plist:"ScanInitiated,omitempty"`
}

// DecodeScheduleOSUpdateScan decodes a ScheduleOSUpdateScan response.
func DecodeScheduleOSUpdateScan(raw []byte) (*ScheduleOSUpdateScanResponse, error) {
	var w scanWire
	if err := decodeResponse(raw, RequestScheduleOSUpdateScan, &w, func() bool { return w.ScanInitiated != nil }); err != nil {
		return nil, err
	}
	r := &ScheduleOSUpdateScanResponse{ResponseHeader: w.ResponseHeader}
	if w.ScanInitiated != nil {
		r.ScanInitiated = *w.ScanInitiated
	}
	return r, nil
}

// MarshalPlist writes ScanInitiated only when acknowledged.
func (r ScheduleOSUpdateScanResponse) MarshalPlist() (any, error) {
	w := scanWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || r.ScanInitiated {
		v := r.ScanInitiated
		w.ScanInitiated = &v
	}
	return w, nil
}
