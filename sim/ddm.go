package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// DDMOptions configure a device's declarative-management behaviour.
type DDMOptions struct {
	// Clock is where the simulated clock starts; AdvanceTo moves it. The
	// device reads TargetLocalDateTime in UTC.
	Clock time.Time
	// How long before an enforcement deadline the device starts
	// downloading, is prepared and starts installing. The new OS is running
	// at the deadline. Zero values take 24h, 2h and 30m.
	DownloadBefore, PrepareBefore, InstallBefore time.Duration
	// FailAt makes an update fail when it reaches this install state
	// (downloading, prepared or installing), reporting FailReason.
	FailAt     ddm.InstallState
	FailReason string
	// BuildFor names the build of an OS version when the declaration does
	// not; the default makes one up from the version.
	BuildFor func(version string) string
}

// DDM is the declarative side of a simulated device: it syncs when told
// by a DeclarativeManagement command, applies declarations the way Apple
// describes, and sends partial status reports. Progress of an update is
// driven by AdvanceTo, never by real time.
type DDM struct {
	d    *Device
	opts DDMOptions

	mu      sync.Mutex
	clock   time.Time
	token   string
	decls   map[string]*heldDecl
	job     *installJob
	state   ddm.InstallState
	failure ddm.FailureReason
	reason  *ddm.InstallReason
	sent    map[string]string // status item → JSON last reported
	sentAt  time.Time         // simulated time of the last report
	reports [][]byte
	syncs   int
	lastErr error
}

// heldDecl is one declaration the device holds and what it made of it.
type heldDecl struct {
	decl    *ddm.Declaration
	token   string
	valid   bool
	active  bool
	reasons []ddm.StatusReason
}

// EnableDDM makes d answer DeclarativeManagement commands by syncing.
func EnableDDM(d *Device, opts DDMOptions) *DDM {
	if opts.DownloadBefore == 0 {
		opts.DownloadBefore = 24 * time.Hour
	}
	if opts.PrepareBefore == 0 {
		opts.PrepareBefore = 2 * time.Hour
	}
	if opts.InstallBefore == 0 {
		opts.InstallBefore = 30 * time.Minute
	}
	a := &DDM{d: d, opts: opts, clock: opts.Clock, decls: map[string]*heldDecl{},
		state: ddm.InstallStateNone, sent: map[string]string{}}
	d.Handle(mdm.RequestDeclarativeManagement, a.respond)
	return a
}

// respond syncs with the tokens the command carries and acknowledges; a
// failed sync is kept for LastError, as a device keeps its own logs.
func (a *DDM) respond(d *Device, c *IncomingCommand) Answer {
	var embedded *ddm.SyncTokens
	if data, ok := c.Payload["Data"].([]byte); ok && len(data) > 0 {
		var doc ddm.TokensResponse
		if err := json.Unmarshal(data, &doc); err == nil {
			embedded = &doc.SyncTokens
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastErr = a.sync(ctx, embedded)
	return Answer{Status: mdm.StatusAcknowledged}
}

// Sync asks for tokens and syncs as after a DeclarativeManagement command.
func (a *DDM) Sync(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sync(ctx, nil)
}

func (a *DDM) sync(ctx context.Context, tokens *ddm.SyncTokens) error {
	a.syncs++
	if tokens == nil {
		var doc ddm.TokensResponse
		if err := a.fetchJSON(ctx, "tokens", &doc); err != nil {
			return err
		}
		tokens = &doc.SyncTokens
	}
	if tokens.DeclarationsToken != a.token {
		if err := a.fetchDeclarations(ctx); err != nil {
			return err
		}
		a.evaluate()
	}
	return a.sendStatus(ctx)
}

func (a *DDM) fetchJSON(ctx context.Context, endpoint string, v any) error {
	resp, err := a.d.Declarative(ctx, endpoint, nil)
	if err != nil {
		return fmt.Errorf("sim %s: DDM %s: %w", a.d.UDID(), endpoint, err)
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("sim %s: DDM %s answer: %w", a.d.UDID(), endpoint, err)
	}
	return nil
}

// fetchDeclarations reads the manifest and fetches what is new or changed;
// declarations the manifest no longer lists are removed.
func (a *DDM) fetchDeclarations(ctx context.Context) error {
	var manifest ddm.DeclarationItemsResponse
	if err := a.fetchJSON(ctx, "declaration-items", &manifest); err != nil {
		return err
	}
	next := map[string]*heldDecl{}
	for kind, items := range map[ddm.Kind][]ddm.DeclarationItem{
		ddm.KindActivation: manifest.Declarations.Activations, ddm.KindConfiguration: manifest.Declarations.Configurations,
		ddm.KindAsset: manifest.Declarations.Assets, ddm.KindManagement: manifest.Declarations.Management,
	} {
		for _, it := range items {
			if cur, ok := a.decls[it.Identifier]; ok && cur.token == it.ServerToken {
				next[it.Identifier] = cur
				continue
			}
			h, err := a.fetchDeclaration(ctx, kind, it)
			if err != nil {
				return err
			}
			next[it.Identifier] = h
		}
	}
	a.decls, a.token = next, manifest.DeclarationsToken
	return nil
}

func (a *DDM) fetchDeclaration(ctx context.Context, kind ddm.Kind, it ddm.DeclarationItem) (*heldDecl, error) {
	endpoint := "declaration/" + string(kind) + "/" + url.PathEscape(it.Identifier)
	resp, err := a.d.Declarative(ctx, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("sim %s: DDM %s: %w", a.d.UDID(), endpoint, err)
	}
	d, err := ddm.Parse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("sim %s: DDM %s answer: %w", a.d.UDID(), endpoint, err)
	}
	if d.Identifier != it.Identifier || d.ServerToken != it.ServerToken {
		return nil, fmt.Errorf("sim %s: DDM %s answered %s with token %s, manifest said %s",
			a.d.UDID(), endpoint, d.Identifier, d.ServerToken, it.ServerToken)
	}
	return &heldDecl{decl: d, token: it.ServerToken}, nil
}

// evaluate decides validity and activation, then the update to work on.
func (a *DDM) evaluate() {
	isConfig := func(id string) bool {
		h, ok := a.decls[id]
		return ok && h.decl.Kind() == ddm.KindConfiguration
	}
	for _, h := range a.decls {
		h.active, h.reasons, h.valid = false, nil, true
		if err := ddm.Validate(h.decl, isConfig); err != nil {
			h.valid = false
			h.reasons = []ddm.StatusReason{{Code: "Error.ConfigurationValidationFailed", Description: err.Error()}}
		}
	}
	for _, h := range a.decls {
		var act ddm.ActivationSimple
		if !h.valid || h.decl.Type != ddm.TypeActivationSimple || h.decl.DecodePayload(&act) != nil {
			continue
		}
		h.active = true
		for _, id := range act.StandardConfigurations {
			if c := a.decls[id]; c != nil && c.valid {
				c.active = true
			}
		}
	}
	a.progress()
}
