package ddm

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// LocalDateTimeLayout is TargetLocalDateTime's format: RFC 3339 without a
// zone offset or fraction, read by the device in its own time zone.
const LocalDateTimeLayout = "2006-01-02T15:04:05"

var enforcementSpec = &spec{kind: kDictionary, fields: map[string]*spec{
	// The YAML marks TargetLocalDateTime required; devices refuse it missing.
	"TargetOSVersion":     {kind: kString, required: true, check: checkOSVersion},
	"TargetBuildVersion":  {kind: kString, check: checkBuildVersion},
	"TargetLocalDateTime": {kind: kString, required: true, check: checkLocalDateTime},
	"DetailsURL":          {kind: kString, check: checkHTTPURL},
}}

var (
	deferralDays   = &[2]int{1, 90}
	actionValues   = []string{"Allowed", "AlwaysOn", "AlwaysOff"}
	cadenceValues  = []string{"All", "Oldest", "Newest"}
	betaProgramDef = map[string]*spec{
		"Description": {kind: kString, required: true, check: checkNonEmpty},
		"Token":       {kind: kString, required: true, check: checkNonEmpty},
	}
)

var settingsSpec = &spec{kind: kDictionary, fields: map[string]*spec{
	"Notifications": {kind: kBoolean},
	"Deferrals": {kind: kDictionary, fields: map[string]*spec{
		"CombinedPeriodInDays": {kind: kInteger, rng: deferralDays},
		"MajorPeriodInDays":    {kind: kInteger, rng: deferralDays},
		"MinorPeriodInDays":    {kind: kInteger, rng: deferralDays},
		"SystemPeriodInDays":   {kind: kInteger, rng: deferralDays},
	}},
	"RecommendedCadence": {kind: kString, enum: cadenceValues},
	"AutomaticActions": {kind: kDictionary, fields: map[string]*spec{
		"Download":              {kind: kString, enum: actionValues},
		"InstallOSUpdates":      {kind: kString, enum: actionValues},
		"InstallSecurityUpdate": {kind: kString, enum: actionValues},
	}},
	"RapidSecurityResponse": {kind: kDictionary, fields: map[string]*spec{
		"Enable":         {kind: kBoolean},
		"EnableRollback": {kind: kBoolean},
	}},
	"AllowStandardUserOSUpdates": {kind: kBoolean},
	"Beta": {kind: kDictionary, check: checkBetaRules, fields: map[string]*spec{
		"ProgramEnrollment": {kind: kString, enum: actionValues},
		"OfferPrograms":     {kind: kArray, elem: &spec{kind: kDictionary, fields: betaProgramDef}},
		"RequireProgram":    {kind: kDictionary, fields: betaProgramDef},
	}},
}}

// checkBetaRules applies what the schema says in prose: OfferPrograms only
// with ProgramEnrollment Allowed or AlwaysOn (absent means Allowed on
// unsupervised devices) and never with RequireProgram; RequireProgram only
// with AlwaysOn.
func checkBetaRules(path string, v any, errs *ValidationErrors) {
	beta := v.(map[string]any)
	enrollment, hasEnrollment := beta["ProgramEnrollment"].(string)
	_, hasOffer := beta["OfferPrograms"]
	_, hasRequire := beta["RequireProgram"]
	if hasOffer && hasEnrollment && enrollment == "AlwaysOff" {
		errs.add(path+".OfferPrograms", "OfferPrograms is only allowed when ProgramEnrollment is Allowed or AlwaysOn")
	}
	if hasOffer && hasRequire {
		errs.add(path+".OfferPrograms", "OfferPrograms must not be present together with RequireProgram")
	}
	if hasRequire && enrollment != "AlwaysOn" {
		errs.add(path+".RequireProgram", "RequireProgram is only allowed when ProgramEnrollment is AlwaysOn")
	}
}

func checkNonEmpty(path string, v any, errs *ValidationErrors) {
	if v.(string) == "" {
		errs.add(path, "must not be empty")
	}
}

func checkOSVersion(path string, v any, errs *ValidationErrors) {
	if _, err := osversion.Parse(v.(string)); err != nil {
		errs.add(path, fmt.Sprintf("%s is not an OS version such as 17.4 or 15.3.1", quoteShort(v.(string))))
	}
}

func checkBuildVersion(path string, v any, errs *ValidationErrors) {
	if _, err := osversion.ParseBuild(v.(string)); err != nil {
		errs.add(path, fmt.Sprintf("%s is not a build version such as 21E219 or 21E219a", quoteShort(v.(string))))
	}
}

// checkLocalDateTime wants exactly yyyy-mm-ddThh:mm:ss naming a real date:
// no zone, no fraction (the device applies its own time zone).
func checkLocalDateTime(path string, v any, errs *ValidationErrors) {
	s := v.(string)
	if _, err := ParseLocalDateTime(s); err != nil {
		errs.add(path, fmt.Sprintf("%s must be a real local date and time as yyyy-mm-ddThh:mm:ss, without a time zone", quoteShort(s)))
	}
}

// ParseLocalDateTime reads a TargetLocalDateTime. The result carries UTC as
// a neutral zone: it is only meaningful compared with other local times.
func ParseLocalDateTime(s string) (time.Time, error) {
	if len(s) != len(LocalDateTimeLayout) {
		return time.Time{}, fmt.Errorf("ddm: local date time %s is not yyyy-mm-ddThh:mm:ss", quoteShort(s))
	}
	t, err := time.Parse(LocalDateTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("ddm: local date time %s: %w", quoteShort(s), err)
	}
	return t, nil
}

const maxURLLen = 2048

func checkHTTPURL(path string, v any, errs *ValidationErrors) {
	s := v.(string)
	u, err := url.Parse(s)
	switch {
	case len(s) > maxURLLen:
		errs.add(path, fmt.Sprintf("URL is longer than %d bytes", maxURLLen))
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		errs.add(path, "URL must not contain spaces or control characters")
	case err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		errs.add(path, fmt.Sprintf("%s must be an absolute http or https URL", quoteShort(s)))
	}
}
