package bolt

import (
	"fmt"

	"github.com/tidemark-mdm/tidemark/internal/binrec"
	"github.com/tidemark-mdm/tidemark/storage"
)

// deviceFormat is the binary layout version of a device record. Device
// records are read on every check-in and for every device of a reconcile
// pass, so they are binary; older JSON records are still read.
const deviceFormat = 1

func encodeDevice(d *storage.Device) []byte {
	w := binrec.NewWriter(deviceFormat, 320)
	w.Int(int64(d.Version))
	w.String(d.ID)
	w.Bool(d.Enrolled)
	w.Time(d.FirstSeen)
	w.Time(d.EnrolledAt)
	w.Time(d.CheckedOutAt)
	w.Time(d.LastSeen)
	w.String(d.CertHash)
	w.Time(d.CertNotAfter)
	w.String(d.Topic)
	w.String(d.PushMagic)
	w.Blob(d.PushToken)
	w.Bool(d.PushTokenDead)
	w.Bool(d.LastPush != nil)
	if p := d.LastPush; p != nil {
		w.Time(p.At)
		w.Int(int64(p.Status))
		w.String(p.Reason)
		w.Bool(p.OK)
	}
	w.Bool(d.BootstrapEscrowed)
	w.Time(d.BootstrapAt)
	w.Bool(d.HasUnlockToken)
	f := &d.Facts
	for _, s := range []string{f.Platform, f.OSVersion, f.BuildVersion, f.SupplementalBuild, f.SupplementalExtra,
		f.ProductName, f.Model, f.ModelName, f.SerialNumber, f.DeviceName, f.SoftwareUpdateDeviceID} {
		w.String(s)
	}
	w.OptBool(f.Supervised)
	w.OptBool(f.AppleSilicon)
	w.OptFloat(f.BatteryLevel)
	w.OptFloat(f.DeviceCapacityGB)
	w.OptFloat(f.AvailableCapacityGB)
	w.OptBool(f.BootstrapRequired)
	w.OptBool(f.BootstrapAllowedAuth)
	w.Time(f.DeviceInfoAt)
	w.Time(f.SecurityInfoAt)
	w.Strings(d.Groups)
	return w.Bytes()
}

// decodeDevice reads a device record in either form.
func decodeDevice(raw []byte, d *storage.Device) error {
	if !binrec.IsBinary(raw) {
		return jsonUnmarshal(raw, d)
	}
	r := binrec.NewReader(raw)
	if r.Failed() {
		return fmt.Errorf("device record: %w", r.Err())
	}
	if r.Version != deviceFormat {
		return fmt.Errorf("device record format %d is not one this server reads (%d)", r.Version, deviceFormat)
	}
	*d = storage.Device{}
	d.Version = int(r.Int())
	d.ID = r.String()
	d.Enrolled = r.Bool()
	d.FirstSeen = r.Time()
	d.EnrolledAt = r.Time()
	d.CheckedOutAt = r.Time()
	d.LastSeen = r.Time()
	d.CertHash = r.String()
	d.CertNotAfter = r.Time()
	d.Topic = r.String()
	d.PushMagic = r.String()
	d.PushToken = r.Blob()
	d.PushTokenDead = r.Bool()
	if r.Bool() {
		d.LastPush = &storage.Push{At: r.Time(), Status: int(r.Int()), Reason: r.String(), OK: r.Bool()}
	}
	d.BootstrapEscrowed = r.Bool()
	d.BootstrapAt = r.Time()
	d.HasUnlockToken = r.Bool()
	f := &d.Facts
	for _, s := range []*string{&f.Platform, &f.OSVersion, &f.BuildVersion, &f.SupplementalBuild, &f.SupplementalExtra,
		&f.ProductName, &f.Model, &f.ModelName, &f.SerialNumber, &f.DeviceName, &f.SoftwareUpdateDeviceID} {
		*s = r.String()
	}
	f.Supervised = r.OptBool()
	f.AppleSilicon = r.OptBool()
	f.BatteryLevel = r.OptFloat()
	f.DeviceCapacityGB = r.OptFloat()
	f.AvailableCapacityGB = r.OptFloat()
	f.BootstrapRequired = r.OptBool()
	f.BootstrapAllowedAuth = r.OptBool()
	f.DeviceInfoAt = r.Time()
	f.SecurityInfoAt = r.Time()
	d.Groups = r.Strings()
	if err := r.Err(); err != nil {
		return fmt.Errorf("device record: %w", err)
	}
	return nil
}
