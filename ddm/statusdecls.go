package ddm

import "fmt"

// reasonKeys names a reason's keys: the Errors array capitalises them,
// management.declarations does not.
type reasonKeys struct{ code, description, details string }

var (
	errorReasonKeys       = reasonKeys{"Code", "Description", "Details"}
	declarationReasonKeys = reasonKeys{"code", "description", "details"}
)

// reasons reads an optional array of reasons under o[key]. ok is false when
// the array is unusable and the enclosing entry should be skipped.
func (p *reportParser) reasons(o map[string]any, path, key string, names reasonKeys) ([]StatusReason, bool) {
	v, present := o[key]
	if !present {
		return nil, true
	}
	arr, isArr := v.([]any)
	if !isArr {
		p.wrongType(path+"."+key, "an array", v)
		return nil, false
	}
	var out []StatusReason
	for i, e := range arr {
		if i >= MaxReasons {
			p.problem(path+"."+key, fmt.Sprintf("more than %d reasons; rest skipped", MaxReasons))
			break
		}
		if r, ok := p.reason(fmt.Sprintf("%s.%s[%d]", path, key, i), e, names); ok {
			out = append(out, r)
		}
	}
	return out, true
}

func (p *reportParser) reason(path string, v any, names reasonKeys) (StatusReason, bool) {
	var r StatusReason
	o, ok := p.obj(path, v)
	if !ok {
		return r, false
	}
	var okCode, okDesc bool
	r.Code, okCode = p.field(o, path, names.code, true)
	r.Description, okDesc = p.field(o, path, names.description, false)
	if details, present := o[names.details]; present {
		raw, err := canonical(details)
		switch {
		case err != nil || len(raw) > MaxStringLen*4:
			p.problem(path+"."+names.details, "unreadable or too large; dropped")
		default:
			r.Details = raw
		}
	}
	return r, okCode && okDesc
}

// decodeDeclarations reads management.declarations: four arrays of
// per-declaration status, by class.
func decodeDeclarations(p *reportParser, path string, v any) {
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	ds := &DeclarationsStatus{}
	targets := map[string]*[]DeclarationStatus{
		"activations":    &ds.Activations,
		"configurations": &ds.Configurations,
		"assets":         &ds.Assets,
		"management":     &ds.Management,
	}
	for _, class := range sortedKeys(o) {
		target, known := targets[class]
		if !known {
			p.problem(path+"."+class, "unknown declaration class; skipped")
			continue
		}
		arr, isArr := o[class].([]any)
		if !isArr {
			p.wrongType(path+"."+class, "an array", o[class])
			continue
		}
		for i, e := range arr {
			p.declarationEntry(fmt.Sprintf("%s.%s[%d]", path, class, i), e, target)
		}
	}
	p.r.Items.Declarations = ds
}

func (p *reportParser) declarationEntry(path string, v any, target *[]DeclarationStatus) {
	p.decls++
	if p.decls > MaxDeclarationStatuses {
		if p.decls == MaxDeclarationStatuses+1 {
			p.problem(path, fmt.Sprintf("more than %d declarations; rest skipped", MaxDeclarationStatuses))
		}
		return
	}
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	var d DeclarationStatus
	var okID, okToken, okValid, okActive bool
	d.Identifier, okID = p.field(o, path, "identifier", true)
	d.ServerToken, okToken = p.field(o, path, "server-token", true)
	d.Valid, okValid = p.field(o, path, "valid", true)
	active, present := o["active"]
	if d.Active, okActive = active.(bool); !okActive {
		if present {
			p.wrongType(path+".active", "a boolean", active)
		} else {
			p.problem(path+".active", "required key is missing; skipped")
		}
	}
	reasons, okReasons := p.reasons(o, path, "reasons", declarationReasonKeys)
	if !(okID && okToken && okValid && okActive && okReasons) {
		return
	}
	switch d.Valid {
	case "valid", "invalid", "unknown":
	default:
		p.problem(path+".valid", fmt.Sprintf("undocumented value %s; kept as sent", quoteShort(d.Valid)))
	}
	for _, k := range sortedKeys(o) {
		switch k {
		case "identifier", "server-token", "valid", "active", "reasons":
		default:
			p.problem(path+"."+k, "unknown key; ignored")
		}
	}
	d.Reasons = reasons
	*target = append(*target, d)
}

// parseErrors reads the report's Errors array.
func (p *reportParser) parseErrors(v any) {
	arr, ok := v.([]any)
	if !ok {
		p.wrongType("Errors", "an array", v)
		return
	}
	for i, e := range arr {
		path := fmt.Sprintf("Errors[%d]", i)
		if i >= MaxStatusErrors {
			p.problem("Errors", fmt.Sprintf("more than %d errors; rest skipped", MaxStatusErrors))
			return
		}
		o, ok := p.obj(path, e)
		if !ok {
			continue
		}
		item, ok := p.field(o, path, "StatusItem", true)
		if !ok {
			continue
		}
		reasons, ok := p.reasons(o, path, "Reasons", errorReasonKeys)
		if ok {
			p.r.Errors = append(p.r.Errors, StatusItemError{StatusItem: item, Reasons: reasons})
		}
	}
}
