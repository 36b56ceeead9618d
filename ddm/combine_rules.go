package ddm

// andBool: false wins; the decider is the first declaration holding the
// result.
func andBool(ds []SoftwareUpdateSettings, get func(SoftwareUpdateSettings) *bool) (*bool, []int) {
	var result *bool
	who := -1
	for i, s := range ds {
		v := get(s)
		if v == nil {
			continue
		}
		if result == nil || (*result && !*v) {
			b := *v
			result, who = &b, i
		}
	}
	return result, single(who)
}

// maxInt: the largest value wins; ties go to the first declaration.
func maxInt(ds []SoftwareUpdateSettings, get func(SoftwareUpdateSettings) *int) (*int, []int) {
	var result *int
	who := -1
	for i, s := range ds {
		v := get(s)
		if v != nil && (result == nil || *v > *result) {
			n := *v
			result, who = &n, i
		}
	}
	return result, single(who)
}

// enumLast: the value latest in the schema's list wins. Values outside the
// list (Validate refuses them) are ignored.
func enumLast(ds []SoftwareUpdateSettings, order []string, get func(SoftwareUpdateSettings) string) (string, []int) {
	best, who := -1, -1
	for i, s := range ds {
		if r := rank(order, get(s)); r > best {
			best, who = r, i
		}
	}
	if best < 0 {
		return "", nil
	}
	return order[best], single(who)
}

func rank(order []string, v string) int {
	for i, o := range order {
		if o == v {
			return i
		}
	}
	return -1
}

func single(i int) []int {
	if i < 0 {
		return nil
	}
	return []int{i}
}

func ensureBeta(o *SoftwareUpdateSettings) *Beta {
	if o.Beta == nil {
		o.Beta = &Beta{}
	}
	return o.Beta
}

func combineProgramEnrollment(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
	v, who := enumLast(ds, actionValues, func(s SoftwareUpdateSettings) string {
		if s.Beta == nil {
			return ""
		}
		return s.Beta.ProgramEnrollment
	})
	if v != "" {
		ensureBeta(o).ProgramEnrollment = v
	}
	return who
}

// combineOfferPrograms unions the offered programs, keeping first-seen
// order; a program is the same when description and token are.
func combineOfferPrograms(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
	var programs []BetaProgram
	var who []int
	seen := map[BetaProgram]bool{}
	for i, s := range ds {
		if s.Beta == nil || len(s.Beta.OfferPrograms) == 0 {
			continue
		}
		who = append(who, i)
		for _, p := range s.Beta.OfferPrograms {
			if !seen[p] {
				seen[p] = true
				programs = append(programs, p)
			}
		}
	}
	if len(programs) > 0 {
		ensureBeta(o).OfferPrograms = programs
	}
	return who
}

func combineRequireProgram(o *SoftwareUpdateSettings, ds []SoftwareUpdateSettings) []int {
	for i, s := range ds {
		if s.Beta != nil && s.Beta.RequireProgram != nil {
			p := *s.Beta.RequireProgram
			ensureBeta(o).RequireProgram = &p
			return []int{i}
		}
	}
	return nil
}
