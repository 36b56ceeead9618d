package enrollment

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark-mdm/tidemark/mdm"
)

func TestReadMachineInfo(t *testing.T) {
	device := newIdentity(t, "device", nil, false)
	plain := macFixture(t)
	signed := sign(t, device, plain)
	mi, sig, err := ReadMachineInfo(signed, false, nil, now)
	if err != nil || mi.UDID == "" || !sig.Signed || sig.ChainVerified || sig.ChainError == "" || sig.SignerSubject != "device" {
		t.Fatalf("signed: %+v %+v %v", mi, sig, err)
	}
	if _, _, err := ReadMachineInfo(plain, false, nil, now); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("plain refused with %v", err)
	}
	if mi, sig, err := ReadMachineInfo(append([]byte("\n  "), plain...), true, nil, now); err != nil || sig.Signed || mi.Product != "Mac14,2" {
		t.Fatalf("plain allowed: %+v %v", sig, err)
	}
	var de *mdm.DecodeError
	if _, _, err := ReadMachineInfo(sign(t, device, []byte("<plist><dict/></plist>")), false, nil, now); !errors.As(err, &de) {
		t.Fatalf("signed MachineInfo without PRODUCT: %v", err)
	}
}

func TestReadMachineInfoChain(t *testing.T) {
	root := newIdentity(t, "root", nil, true)
	inter := newIdentity(t, "intermediate", &root, true)
	leaf := newIdentity(t, "leaf", &inter, false)
	roots := x509Pool(root)
	_, sig, err := ReadMachineInfo(sign(t, leaf, macFixture(t), inter.cert), false, roots, now)
	if err != nil || !sig.ChainVerified || sig.ChainError != "" {
		t.Fatalf("chain with intermediate: %+v %v", sig, err)
	}
	_, sig, err = ReadMachineInfo(sign(t, leaf, macFixture(t)), false, roots, now)
	if err != nil || sig.ChainVerified {
		t.Fatalf("intermediate missing must not verify (nor refuse): %+v %v", sig, err)
	}
	_, sig, _ = ReadMachineInfo(sign(t, leaf, macFixture(t), inter.cert), false, roots, now.AddDate(2, 0, 0))
	if sig.ChainVerified {
		t.Fatal("expired chain verified: the injected clock is ignored")
	}
}

func TestReadMachineInfoTwoSigners(t *testing.T) {
	a, b := newIdentity(t, "a", nil, false), newIdentity(t, "b", nil, false)
	sd := twoSigners(t, a, b, macFixture(t))
	if _, _, err := ReadMachineInfo(sd, false, nil, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("two signers: %v", err)
	}
}

func FuzzReadMachineInfo(f *testing.F) {
	device := newIdentity(f, "device", nil, false)
	files, _ := filepath.Glob("../testdata/enrollment/*.plist")
	bad, _ := filepath.Glob("../testdata/enrollment/bad/*.plist")
	for _, p := range append(files, bad...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
			f.Add(sign(f, device, b))
		}
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Fuzz(func(t *testing.T, data []byte) {
		mi, sig, err := ReadMachineInfo(data, true, nil, now)
		if err != nil {
			return
		}
		if mi.Product == "" {
			t.Fatal("accepted a MachineInfo without PRODUCT")
		}
		if trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); trimmed[0] == 0x30 && !sig.Signed {
			t.Fatal("a CMS body was accepted without a checked signature")
		}
	})
}
