// Package enforcement is Tidemark's OS-update domain logic, pure and
// synchronous: no storage, no network (except FetchCatalog, which takes the
// caller's *http.Client), and time always comes in as an argument.
//
//   - Catalog: Apple's Software Lookup Service (gdmf.apple.com/v2/pmv),
//     parsed and indexed per platform family and software-update device id.
//     Releases are matched on the device's board id / product type, never on
//     the version alone (forked builds). A release without a device list is
//     offered to every device of its family but never chosen as "latest"
//     while a release naming the device exists.
//   - Policy: what to install, for whom, by when; Validate checks it against
//     the catalog and the other policies; ResolveTarget makes the target and
//     the device-local deadline concrete for one model.
//   - Plan: for one device and one policy, the path (DDM declaration, legacy
//     MDM commands, or none), the preconditions and the next action.
//   - Evaluate: compliance (installed, required + step, not required,
//     unknown) with the one reason that best explains it; Transition keeps
//     the per-device state and its bounded history (see STATES.md).
//   - Reasons: the catalogue of reason codes with explanation and remedy
//     (REASONS.md is generated from it); Summarize: the fleet view.
//
// The package does not import the protocol packages: DeviceFacts,
// DDMFacts and LegacyFacts are small input structs the caller fills from
// stored MDM/DDM data, and DevicePlan describes declarations and commands
// as plain data for the reconcile worker to encode.
package enforcement
