package bench

import (
	"fmt"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/sim"
)

// The bench encodes device messages itself (the shapes sim sends) so it
// can sign every body before the measured phase.

type checkinMsg struct {
	MessageType  string `plist:"MessageType"`
	UDID         string `plist:"UDID"`
	Topic        string `plist:"Topic,omitempty"`
	OSVersion    string `plist:"OSVersion,omitempty"`
	BuildVersion string `plist:"BuildVersion,omitempty"`
	ProductName  string `plist:"ProductName,omitempty"`
	Model        string `plist:"Model,omitempty"`
	ModelName    string `plist:"ModelName,omitempty"`
	SerialNumber string `plist:"SerialNumber,omitempty"`
	DeviceName   string `plist:"DeviceName,omitempty"`
	Token        []byte `plist:"Token,omitempty"`
	PushMagic    string `plist:"PushMagic,omitempty"`
	Endpoint     string `plist:"Endpoint,omitempty"`
	Data         []byte `plist:"Data,omitempty"`
}

type reportMsg struct {
	UDID           string          `plist:"UDID"`
	Status         string          `plist:"Status"`
	CommandUUID    string          `plist:"CommandUUID,omitempty"`
	QueryResponses *queryResponses `plist:"QueryResponses,omitempty"`
}

// queryResponses is a DeviceInformation answer with the facts a device
// reports about itself.
type queryResponses struct {
	OSVersion    string `plist:"OSVersion"`
	BuildVersion string `plist:"BuildVersion"`
	ProductName  string `plist:"ProductName"`
	ModelName    string `plist:"ModelName"`
	SerialNumber string `plist:"SerialNumber"`
}

// profile is what one simulated device says about itself: the fleet
// alternates Macs and iPhones.
type profile struct {
	os, build, product, model, serial, name string
}

func profileOf(i int) profile {
	if i%2 == 0 {
		return profile{"15.7.1", "24G231", "Mac14,2", "MacBook Air", fmt.Sprintf("C02BN%07d", i), fmt.Sprintf("Mac %d", i)}
	}
	return profile{"18.6", "22G86", "iPhone15,2", "iPhone", fmt.Sprintf("F2LBN%07d", i), fmt.Sprintf("iPhone %d", i)}
}

// attributesOf is the simulated hardware of device i, matching profileOf.
func attributesOf(udid string, i int) sim.Attributes {
	p := profileOf(i)
	a := sim.Attributes{UDID: udid, SerialNumber: p.serial, Platform: "iOS", OSVersion: p.os, BuildVersion: p.build,
		ProductName: p.product, ModelName: p.model, DeviceName: p.name, Supervised: true,
		BatteryLevel: 0.8, FreeGB: 100, CapacityGB: 256, SoftwareUpdateDeviceID: p.product}
	if i%2 == 0 {
		a.Platform, a.AppleSilicon, a.CapacityGB, a.SoftwareUpdateDeviceID = "macOS", true, 494.38, "J413AP"
	}
	return a
}

func encodePlist(v any) []byte {
	b, err := plist.MarshalIndent(v, "\t")
	if err != nil {
		// Only fixed struct shapes are encoded here.
		panic(fmt.Sprintf("bench: encoding a device message: %v", err))
	}
	return b
}

func authenticateBody(udid, topic string, i int) []byte {
	p := profileOf(i)
	return encodePlist(checkinMsg{MessageType: "Authenticate", UDID: udid, Topic: topic,
		OSVersion: p.os, BuildVersion: p.build, ProductName: p.product, Model: p.product,
		ModelName: p.model, SerialNumber: p.serial, DeviceName: p.name})
}

func tokenUpdateBody(udid, topic string) []byte {
	return encodePlist(checkinMsg{MessageType: "TokenUpdate", UDID: udid, Topic: topic,
		Token: []byte("bench-token-" + udid), PushMagic: "magic-" + udid})
}

func idleBody(udid string) []byte {
	return encodePlist(reportMsg{UDID: udid, Status: "Idle"})
}

// deviceInfoAck acknowledges a DeviceInformation command with facts.
func deviceInfoAck(udid, uuid string, i int) []byte {
	p := profileOf(i)
	return encodePlist(reportMsg{UDID: udid, Status: "Acknowledged", CommandUUID: uuid,
		QueryResponses: &queryResponses{OSVersion: p.os, BuildVersion: p.build, ProductName: p.product,
			ModelName: p.model, SerialNumber: p.serial}})
}

func declarativeBody(udid, endpoint string, data []byte) []byte {
	return encodePlist(checkinMsg{MessageType: "DeclarativeManagement", UDID: udid, Endpoint: endpoint, Data: data})
}
