// Package enrollment holds devices to a minimum OS when they enroll.
//
// During Setup Assistant a device posts its MachineInfo to the enrollment
// endpoint. When a minimum-OS rule matches the device, the device said it
// can be asked to update (MDM_CAN_REQUEST_SOFTWARE_UPDATE) and it runs an
// older OS, the endpoint answers 403 with Apple's
// com.apple.softwareupdate.required body naming a release the catalog
// offers for that model; the device updates, restarts Setup Assistant and
// posts again. Otherwise it receives the enrollment profile. Decide is the
// pure decision; Handler is the HTTP side; Admin serves the settings.
//
// Trust. A device signs MachineInfo (CMS SignedData, content attached)
// with its device identity certificate. For Automated Device Enrollment
// that certificate chains to Apple's device CA, which this server cannot
// verify unless an operator adds it to the trust roots. So the handler
// requires an intact signature (a truncated or altered body is refused),
// records whether the signer chained to a configured root, and does not
// refuse an untrusted signer. That is safe because MachineInfo only picks
// between "update first" and "here is the profile": the profile is what
// any enrolling device receives, and a device's identity is established
// later by SCEP and the Authenticate check-in, never by MachineInfo. A
// forged MachineInfo can at worst hold its own sender back or put a
// misleading line in the history, which is why decisions go into a
// device's own history only for known devices or trusted signers.
package enrollment
