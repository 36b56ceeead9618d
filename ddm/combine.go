package ddm

// SettingsProvenance tells, for each settings key path that has a value
// ("Deferrals.MajorPeriodInDays"), which declarations decided it, as indexes
// into the slice given to EffectiveSettings. Single-winner rules name one
// declaration; set-union names every contributor.
type SettingsProvenance map[string][]int

// combineRule is one key of softwareupdate.settings with Apple's combinetype.
type combineRule struct {
	path        string
	combinetype string
	apply       func(out *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int
}

// EffectiveSettings previews what a device does with several settings
// declarations: each key is combined by the combinetype Apple's schema gives
// it (boolean-and, number-max, enum-last by the order the schema lists the
// values, set-union, first). "first" means first in ds, so pass declarations
// in the order the device processes them (Tidemark serves them sorted by
// identifier). Keys no declaration sets stay unset.
func EffectiveSettings(ds []SoftwareUpdateSettings) (SoftwareUpdateSettings, SettingsProvenance) {
	var out SoftwareUpdateSettings
	prov := SettingsProvenance{}
	for _, r := range settingsRules {
		if who := r.apply(&out, ds); len(who) > 0 {
			prov[r.path] = who
		}
	}
	return out, prov
}

// settingsRules follows softwareupdate.settings.yaml key by key; a test
// checks this list against the YAML.
var settingsRules = []combineRule{
	{"Notifications", "boolean-and", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := andBool(ds, func(s SoftwareUpdateSettings) *bool { return s.Notifications })
		o.Notifications = v
		return who
	}},
	deferralRule("CombinedPeriodInDays", func(d *Deferrals) **int { return &d.CombinedPeriodInDays }),
	deferralRule("MajorPeriodInDays", func(d *Deferrals) **int { return &d.MajorPeriodInDays }),
	deferralRule("MinorPeriodInDays", func(d *Deferrals) **int { return &d.MinorPeriodInDays }),
	deferralRule("SystemPeriodInDays", func(d *Deferrals) **int { return &d.SystemPeriodInDays }),
	{"RecommendedCadence", "enum-last", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := enumLast(ds, cadenceValues, func(s SoftwareUpdateSettings) string { return s.RecommendedCadence })
		o.RecommendedCadence = v
		return who
	}},
	actionRule("Download", func(a *AutomaticActions) *string { return &a.Download }),
	actionRule("InstallOSUpdates", func(a *AutomaticActions) *string { return &a.InstallOSUpdates }),
	actionRule("InstallSecurityUpdate", func(a *AutomaticActions) *string { return &a.InstallSecurityUpdate }),
	rsrRule("Enable", func(r *RapidSecurityResponse) **bool { return &r.Enable }),
	rsrRule("EnableRollback", func(r *RapidSecurityResponse) **bool { return &r.EnableRollback }),
	{"AllowStandardUserOSUpdates", "boolean-and", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := andBool(ds, func(s SoftwareUpdateSettings) *bool { return s.AllowStandardUserOSUpdates })
		o.AllowStandardUserOSUpdates = v
		return who
	}},
	{"Beta.ProgramEnrollment", "enum-last", combineProgramEnrollment},
	{"Beta.OfferPrograms", "set-union", combineOfferPrograms},
	{"Beta.RequireProgram", "first", combineRequireProgram},
}

func deferralRule(key string, field func(*Deferrals) **int) combineRule {
	return combineRule{"Deferrals." + key, "number-max", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := maxInt(ds, func(s SoftwareUpdateSettings) *int {
			if s.Deferrals == nil {
				return nil
			}
			return *field(s.Deferrals)
		})
		if v != nil {
			if o.Deferrals == nil {
				o.Deferrals = &Deferrals{}
			}
			*field(o.Deferrals) = v
		}
		return who
	}}
}

func actionRule(key string, field func(*AutomaticActions) *string) combineRule {
	return combineRule{"AutomaticActions." + key, "enum-last", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := enumLast(ds, actionValues, func(s SoftwareUpdateSettings) string {
			if s.AutomaticActions == nil {
				return ""
			}
			return *field(s.AutomaticActions)
		})
		if v != "" {
			if o.AutomaticActions == nil {
				o.AutomaticActions = &AutomaticActions{}
			}
			*field(o.AutomaticActions) = v
		}
		return who
	}}
}

func rsrRule(key string, field func(*RapidSecurityResponse) **bool) combineRule {
	return combineRule{"RapidSecurityResponse." + key, "boolean-and", func(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
		v, who := andBool(ds, func(s SoftwareUpdateSettings) *bool {
			if s.RapidSecurityResponse == nil {
				return nil
			}
			return *field(s.RapidSecurityResponse)
		})
		if v != nil {
			if o.RapidSecurityResponse == nil {
				o.RapidSecurityResponse = &RapidSecurityResponse{}
			}
			*field(o.RapidSecurityResponse) = v
		}
		return who
	}}
}
