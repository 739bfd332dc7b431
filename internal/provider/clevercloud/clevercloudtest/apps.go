package clevercloudtest

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Application states as the Clever Cloud API reports them in an
// application's "state" field.
const (
	AppShouldBeUp   = "SHOULD_BE_UP"
	AppShouldBeDown = "SHOULD_BE_DOWN"
	AppWantsToBeUp  = "WANTS_TO_BE_UP"
)

// Instance states. An instance goes BOOTING, STARTING, DEPLOYING, then UP;
// an undeploy makes it STOPPING, then removes it.
const (
	InstanceBooting   = "BOOTING"
	InstanceStarting  = "STARTING"
	InstanceDeploying = "DEPLOYING"
	InstanceUp        = "UP"
	InstanceStopping  = "STOPPING"
)

// Deployment states and actions.
const (
	DeploymentWIP       = "WIP"
	DeploymentOK        = "OK"
	DeploymentFail      = "FAIL"
	DeploymentCancelled = "CANCELLED"

	ActionDeploy   = "DEPLOY"
	ActionUndeploy = "UNDEPLOY"
)

// AppSeed describes an application to create in the fake.
type AppSeed struct {
	// ID is the application id; empty generates "app_<uuid>".
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// Name is the free-text application name. Required.
	Name string `json:"name" yaml:"name"`
	// OwnerID is the organisation that owns the app ("orga_..."), or empty
	// for the user's personal space.
	OwnerID string `json:"owner_id,omitempty" yaml:"owner_id,omitempty"`
	// Zone is the deployment zone; empty means "par".
	Zone string `json:"zone,omitempty" yaml:"zone,omitempty"`
	// Running seeds the app with one UP instance and an OK deployment.
	Running bool `json:"running,omitempty" yaml:"running,omitempty"`
	// URL is the base URL of an upstream that the test runs itself, such
	// as "http://127.0.0.1:8080". Its host and path become the app's first
	// vhost.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// VHosts are further vhost fqdns, as the API reports them (for
	// instance "shop.example.com/").
	VHosts []string `json:"vhosts,omitempty" yaml:"vhosts,omitempty"`
	// Response is the body that the fake's own upstream sends while the
	// app runs; empty means "hello from <name>". Used only when URL and
	// VHosts are both empty: the fake then serves the app on
	// 127.0.0.1:<port> and makes that the first vhost, followed by the
	// default "app-<uuid>.cleverapps.io/".
	Response string `json:"response,omitempty" yaml:"response,omitempty"`
}

// OrganisationSeed describes an organisation to create in the fake.
type OrganisationSeed struct {
	// ID is the organisation id, "orga_<uuid>"; empty generates one.
	ID   string `json:"id,omitempty" yaml:"id,omitempty"`
	Name string `json:"name" yaml:"name"`
}

// DeploymentInfo is a deployment as the fake stores it.
type DeploymentInfo struct {
	UUID   string
	Action string
	State  string
	Cause  string
}

// app is the fake's state for one application. Every field is guarded by
// Server.mu.
type app struct {
	id       string
	name     string
	ownerID  string
	zone     string
	vhosts   []string
	response string
	created  time.Time

	state       string
	instances   []*instance
	deployments []*deployment // oldest first
	operation   *operation    // the deploy or undeploy in progress, or nil
	// failNext is the cause given to the next deployment, which then fails.
	failNext string
	// previousState is the state to go back to when a deployment fails.
	previousState string

	upstreamURL string // the fake's own upstream, when it serves one
	commit      string
	nextNumber  int
}

type instance struct {
	id      string
	number  int
	state   string
	deploy  int
	created time.Time
}

type deployment struct {
	number    int
	uuid      string
	date      time.Time
	action    string
	state     string
	cause     string
	commit    string
	instances int
}

// operation is a deploy or an undeploy that completes after the server's
// operation delay.
type operation struct {
	deployment *deployment
	started    time.Time
	// instances are the instances that the operation creates (deploy) or
	// removes (undeploy).
	instances []*instance
}

// advance applies the transitions that are due at now. The fake computes
// states from elapsed time on each read, so it needs no timer goroutines.
func (a *app) advance(now time.Time, delay time.Duration) {
	op := a.operation
	if op == nil {
		return
	}
	elapsed := now.Sub(op.started)

	if op.deployment.action == ActionUndeploy {
		if elapsed < delay {
			return
		}
		a.instances = nil
		op.deployment.state = DeploymentOK
		a.operation = nil
		return
	}

	if elapsed < delay {
		state := InstanceDeploying
		switch {
		case elapsed < delay/3:
			state = InstanceBooting
		case elapsed < 2*delay/3:
			state = InstanceStarting
		}
		for _, in := range op.instances {
			in.state = state
		}
		return
	}

	a.operation = nil
	if a.failNext != "" {
		op.deployment.state = DeploymentFail
		op.deployment.cause = a.failNext
		a.failNext = ""
		a.instances = without(a.instances, op.instances)
		a.state = a.previousState
		return
	}
	op.deployment.state = DeploymentOK
	for _, in := range op.instances {
		in.state = InstanceUp
	}
	a.instances = op.instances
	a.state = AppShouldBeUp
}

// deploy begins a redeploy and returns its deployment.
func (a *app) deploy(now time.Time) *deployment {
	a.cancelOperation()
	if a.state != AppWantsToBeUp {
		a.previousState = a.state
	}
	d := a.newDeployment(now, ActionDeploy, "Redeploy requested from the API")
	a.nextNumber++
	in := &instance{
		id:      newUUID(),
		number:  a.nextNumber,
		state:   InstanceBooting,
		deploy:  d.number,
		created: now,
	}
	a.instances = append(a.instances, in)
	a.state = AppWantsToBeUp
	a.operation = &operation{deployment: d, started: now, instances: []*instance{in}}
	return d
}

// undeploy begins stopping every instance.
func (a *app) undeploy(now time.Time) *deployment {
	a.cancelOperation()
	d := a.newDeployment(now, ActionUndeploy, "Undeploy requested from the API")
	for _, in := range a.instances {
		in.state = InstanceStopping
	}
	a.state = AppShouldBeDown
	a.operation = &operation{deployment: d, started: now, instances: a.instances}
	return d
}

// cancelOperation ends the operation in progress as CANCELLED and removes
// the instances it was creating or stopping.
func (a *app) cancelOperation() {
	op := a.operation
	if op == nil {
		return
	}
	op.deployment.state = DeploymentCancelled
	a.instances = without(a.instances, op.instances)
	a.operation = nil
}

func (a *app) newDeployment(now time.Time, action, cause string) *deployment {
	d := &deployment{
		number:    len(a.deployments) + 1,
		uuid:      newUUID(),
		date:      now,
		action:    action,
		state:     DeploymentWIP,
		cause:     cause,
		commit:    a.commit,
		instances: 1,
	}
	a.deployments = append(a.deployments, d)
	return d
}

// running reports whether an instance is UP.
func (a *app) running() bool {
	for _, in := range a.instances {
		if in.state == InstanceUp {
			return true
		}
	}
	return false
}

func (a *app) deploymentByUUID(uuid string) *deployment {
	for _, d := range a.deployments {
		if d.uuid == uuid {
			return d
		}
	}
	return nil
}

func without(all, removed []*instance) []*instance {
	var kept []*instance
	for _, in := range all {
		found := false
		for _, r := range removed {
			if in == r {
				found = true
				break
			}
		}
		if !found {
			kept = append(kept, in)
		}
	}
	return kept
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// defaultVHost returns the cleverapps.io vhost that Clever Cloud gives
// every app: its id with "_" replaced by "-".
func defaultVHost(appID string) string {
	return strings.ReplaceAll(appID, "_", "-") + ".cleverapps.io/"
}
