package clevercloudtest

import "time"

// The JSON shapes below follow the Clever Cloud API v2 responses, with the
// fields that clients commonly read. Values that the fake cannot know (the
// runtime, the flavors, the git remotes) are fixed placeholders.

type errorJSON struct {
	ID      int    `json:"id"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

type vhostJSON struct {
	FQDN string `json:"fqdn"`
}

type variantJSON struct {
	ID         string `json:"id"`
	Slug       string `json:"slug"`
	Name       string `json:"name"`
	DeployType string `json:"deployType"`
	Logo       string `json:"logo"`
}

type flavorJSON struct {
	Name      string  `json:"name"`
	Mem       int     `json:"mem"`
	CPUs      int     `json:"cpus"`
	GPUs      int     `json:"gpus"`
	Disk      int     `json:"disk"`
	Price     float64 `json:"price"`
	Available bool    `json:"available"`
}

type instanceSpecJSON struct {
	Type                string      `json:"type"`
	Version             string      `json:"version"`
	Variant             variantJSON `json:"variant"`
	MinInstances        int         `json:"minInstances"`
	MaxInstances        int         `json:"maxInstances"`
	MaxAllowedInstances int         `json:"maxAllowedInstances"`
	MinFlavor           flavorJSON  `json:"minFlavor"`
	MaxFlavor           flavorJSON  `json:"maxFlavor"`
	Lifetime            string      `json:"lifetime"`
	InstanceAndVersion  string      `json:"instanceAndVersion"`
}

// deploymentSpecJSON is an app's "deployment" field. It describes how code
// is pushed, not the address the app serves on.
type deploymentSpecJSON struct {
	Shutdownable bool   `json:"shutdownable"`
	Type         string `json:"type"`
	RepoState    string `json:"repoState"`
	URL          string `json:"url"`
	HTTPURL      string `json:"httpUrl"`
}

type appJSON struct {
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	Description    string             `json:"description"`
	Zone           string             `json:"zone"`
	Instance       instanceSpecJSON   `json:"instance"`
	Deployment     deploymentSpecJSON `json:"deployment"`
	VHosts         []vhostJSON        `json:"vhosts"`
	CreationDate   int64              `json:"creationDate"`
	LastDeploy     int                `json:"last_deploy"`
	Archived       bool               `json:"archived"`
	StickySessions bool               `json:"stickySessions"`
	Homogeneous    bool               `json:"homogeneous"`
	Favourite      bool               `json:"favourite"`
	CancelOnPush   bool               `json:"cancelOnPush"`
	SeparateBuild  bool               `json:"separateBuild"`
	BuildFlavor    flavorJSON         `json:"buildFlavor"`
	OwnerID        string             `json:"ownerId"`
	State          string             `json:"state"`
	CommitID       string             `json:"commitId"`
	Branch         string             `json:"branch"`
	ForceHTTPS     string             `json:"forceHttps"`
	DeployURL      string             `json:"deployUrl"`
}

type instanceJSON struct {
	ID             string     `json:"id"`
	AppID          string     `json:"appId"`
	State          string     `json:"state"`
	Flavor         flavorJSON `json:"flavor"`
	Commit         string     `json:"commit"`
	DeployNumber   int        `json:"deployNumber"`
	InstanceNumber int        `json:"instanceNumber"`
	DisplayName    string     `json:"displayName"`
	CreationDate   int64      `json:"creationDate"`
}

type authorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type deploymentJSON struct {
	ID        int        `json:"id"`
	UUID      string     `json:"uuid"`
	Date      int64      `json:"date"`
	State     string     `json:"state"`
	Action    string     `json:"action"`
	Commit    string     `json:"commit"`
	Cause     string     `json:"cause"`
	Instances int        `json:"instances"`
	Author    authorJSON `json:"author"`
}

// redeployJSON is the body of a successful redeploy or undeploy.
type redeployJSON struct {
	ID           int    `json:"id"`
	Message      string `json:"message"`
	Type         string `json:"type"`
	DeploymentID string `json:"deploymentId,omitempty"`
}

type summaryAppJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	VariantSlug string `json:"variantSlug"`
	State       string `json:"state"`
}

type summaryOwnerJSON struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Applications []summaryAppJSON `json:"applications"`
	Addons       []any            `json:"addons"`
	Consumers    []any            `json:"consumers"`
}

type summaryJSON struct {
	User          summaryOwnerJSON   `json:"user"`
	Organisations []summaryOwnerJSON `json:"organisations"`
}

var nanoFlavor = flavorJSON{Name: "nano", Mem: 1024, CPUs: 1, Disk: 0, Price: 0.1, Available: true}

func millis(t time.Time) int64 { return t.UnixMilli() }

func (a *app) toJSON() appJSON {
	vhosts := make([]vhostJSON, len(a.vhosts))
	for i, v := range a.vhosts {
		vhosts[i] = vhostJSON{FQDN: v}
	}
	pushHost := "push-n3-par-clevercloud-customers.services.clever-cloud.com"
	return appJSON{
		ID:   a.id,
		Name: a.name,
		Zone: a.zone,
		Instance: instanceSpecJSON{
			Type:                "node",
			Version:             "20240101",
			Variant:             variantJSON{ID: "395103fb-d6e2-4fdd-93bc-bc99146f1ea2", Slug: "node", Name: "Node", DeployType: "node"},
			MinInstances:        1,
			MaxInstances:        1,
			MaxAllowedInstances: 40,
			MinFlavor:           nanoFlavor,
			MaxFlavor:           nanoFlavor,
			Lifetime:            "REGULAR",
			InstanceAndVersion:  "node-20240101",
		},
		Deployment: deploymentSpecJSON{
			Shutdownable: true,
			Type:         "GIT",
			RepoState:    "CREATED",
			URL:          "git+ssh://git@" + pushHost + "/" + a.id + ".git",
			HTTPURL:      "https://" + pushHost + "/" + a.id + ".git",
		},
		VHosts:       vhosts,
		CreationDate: millis(a.created),
		LastDeploy:   len(a.deployments),
		Homogeneous:  true,
		BuildFlavor:  nanoFlavor,
		OwnerID:      a.ownerID,
		State:        a.state,
		CommitID:     a.commit,
		Branch:       "master",
		ForceHTTPS:   "ENABLED",
		DeployURL:    "git+ssh://git@" + pushHost + "/" + a.id + ".git",
	}
}

func (a *app) instancesJSON() []instanceJSON {
	out := make([]instanceJSON, 0, len(a.instances))
	for _, in := range a.instances {
		out = append(out, instanceJSON{
			ID:             in.id,
			AppID:          a.id,
			State:          in.state,
			Flavor:         nanoFlavor,
			Commit:         a.commit,
			DeployNumber:   in.deploy,
			InstanceNumber: in.number,
			DisplayName:    "instance " + in.id[:8],
			CreationDate:   millis(in.created),
		})
	}
	return out
}

func (d *deployment) toJSON(author authorJSON) deploymentJSON {
	return deploymentJSON{
		ID:        d.number,
		UUID:      d.uuid,
		Date:      millis(d.date),
		State:     d.state,
		Action:    d.action,
		Commit:    d.commit,
		Cause:     d.cause,
		Instances: d.instances,
		Author:    author,
	}
}
