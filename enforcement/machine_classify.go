package enforcement

// stepRank orders Required steps by progress towards the target.
var stepRank = map[Step]int{
	StepPlanned:        0,
	StepDelivered:      1,
	StepWaiting:        1,
	StepDownloading:    2,
	StepPrepared:       3,
	StepPendingRestart: 4,
	StepInstalling:     4,
	StepVerifying:      5,
}

// classify names a transition; checked in order, first match wins.
func classify(prev DeviceState, ev Evaluation) TransitionKind {
	switch {
	case prev.Compliance == "":
		return KindInitial
	case prev.TargetVersion != "" && ev.Target.OSVersion != "" &&
		(prev.TargetVersion != ev.Target.OSVersion || prev.TargetBuild != ev.Target.BuildVersion):
		return KindRetargeted
	}
	switch ev.Compliance {
	case Installed:
		return KindInstalled
	case Unknown:
		return KindBecameUnknown
	case NotRequired:
		return classifyNotRequired(prev, ev)
	}
	return classifyRequired(prev, ev)
}

func classifyNotRequired(prev DeviceState, ev Evaluation) TransitionKind {
	switch ev.Reason.Code {
	case CodeNotInScope, CodeNotEnrolled, CodePlatformUnsupported:
		return KindLeftScope
	case CodeAlreadyNewer:
		// Going past the target while it was required is as good as
		// installing it.
		if prev.Compliance == Required {
			return KindInstalled
		}
	}
	return KindNotApplicable
}

func classifyRequired(prev DeviceState, ev Evaluation) TransitionKind {
	switch {
	case ev.Step == StepFailed:
		return KindFailed
	case ev.Step == StepBlocked:
		return KindBlocked
	case prev.Step == StepFailed || prev.Step == StepBlocked || prev.Compliance == Unknown:
		return KindRecovered
	case prev.Compliance != Required:
		return KindRegressed // installed or not required before, required again with the same target
	}
	switch r1, r2 := stepRank[prev.Step], stepRank[ev.Step]; {
	case r2 > r1:
		return KindProgressed
	case r2 < r1:
		return KindRegressed
	}
	return KindChanged
}
