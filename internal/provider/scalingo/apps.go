package scalingo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"

	"golang.org/x/sync/errgroup"

	"github.com/paastis/paastis/internal/engine"
)

// Keys of engine.App.Details.
const (
	detailName    = "scalingo_name"
	detailStatus  = "scalingo_status"
	detailBaseURL = "scalingo_base_url"
)

// regionSeparator joins an app name and its region in the routing label of
// an app whose name an earlier region already uses. Scalingo app names
// cannot contain two hyphens in a row, so such a label never equals a real
// app name.
const regionSeparator = "--"

// dnsLabel matches a lowercase DNS label, what a routing label must be.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// appJSON holds the fields of a Scalingo app object that the provider
// uses.
type appJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	URL     string `json:"url"`
	BaseURL string `json:"base_url"`
	// ParentAppName is set on child apps, review apps included.
	ParentAppName string `json:"parent_app_name"`
}

// Apps lists the apps of every selected region, with one request per
// region. An app whose name an earlier region already uses is routed as
// "<name>--<region>". The listing fails as a whole when one region fails,
// so that the engine never mistakes the apps of that region for deleted
// ones.
func (p *Provider) Apps(ctx context.Context) ([]engine.App, error) {
	regions, err := p.regions(ctx)
	if err != nil {
		return nil, err
	}

	listings := make([][]appJSON, len(regions))
	group, groupCtx := errgroup.WithContext(ctx)
	for i, r := range regions {
		group.Go(func() error {
			apps, err := p.listApps(groupCtx, r)
			listings[i] = apps
			return err
		})
	}
	if err := group.Wait(); err != nil {
		return nil, err
	}

	labels := p.assignLabels(regions, listings)

	index := map[string]appRef{}
	var apps []engine.App
	for i, r := range regions {
		parents, err := p.findParents(ctx, r, listings[i])
		if err != nil {
			if p.opts.ReviewAppsOnly {
				return nil, fmt.Errorf("find the review apps of scalingo region %q: %w", r.name, err)
			}
			p.logger.Warn("cannot find the parents of some scalingo review apps", "region", r.name, "error", err)
		}

		for _, a := range listings[i] {
			label, ok := labels[appKey{r.name, a.Name}]
			if !ok {
				continue
			}
			parent := parents[a.Name]
			if p.opts.ReviewAppsOnly && parent == "" {
				continue
			}
			if parentLabel, ok := labels[appKey{r.name, parent}]; ok {
				parent = parentLabel
			}
			index[label] = appRef{label: label, name: a.Name, region: r}
			apps = append(apps, toEngineApp(a, label, r, parent))
		}
	}

	p.mu.Lock()
	p.index = index
	p.mu.Unlock()
	return apps, nil
}

func (p *Provider) listApps(ctx context.Context, r region) ([]appJSON, error) {
	var body struct {
		Apps []appJSON `json:"apps"`
	}
	_, err := p.client.do(ctx, call{
		operation:  "list_apps",
		method:     http.MethodGet,
		url:        r.apiURL + "/v1/apps",
		idempotent: true,
	}, &body)
	if err != nil {
		return nil, fmt.Errorf("list scalingo apps of region %q: %w", r.name, err)
	}
	return body.Apps, nil
}

type appKey struct{ region, name string }

// assignLabels gives each app its routing label: its name in the first
// region that has it, "<name>--<region>" in the others. Apps whose name is
// no DNS label are left out.
func (p *Provider) assignLabels(regions []region, listings [][]appJSON) map[appKey]string {
	labels := map[appKey]string{}
	usedLabels := map[string]bool{}
	for i, r := range regions {
		for _, a := range listings[i] {
			if !dnsLabel.MatchString(a.Name) {
				p.logger.Warn("skipping a scalingo app whose name is not a DNS label", "app", a.Name, "region", r.name)
				continue
			}
			label := a.Name
			if usedLabels[label] {
				label = suffixedLabel(a.Name, r.name)
				p.logCollision(a.Name, r.name, label)
			}
			if usedLabels[label] {
				p.logger.Warn("skipping a scalingo app whose routing label is already taken", "app", a.Name, "region", r.name, "label", label)
				continue
			}
			usedLabels[label] = true
			labels[appKey{r.name, a.Name}] = label
		}
	}
	return labels
}

// suffixedLabel returns "<name>--<region>", or "<name>--<hash>" with the
// first 8 hex digits of the region's SHA-256 when the label would exceed
// the 63 bytes of a DNS label.
func suffixedLabel(name, regionName string) string {
	label := name + regionSeparator + regionName
	if len(label) <= 63 {
		return label
	}
	sum := sha256.Sum256([]byte(regionName))
	return name + regionSeparator + hex.EncodeToString(sum[:4])
}

func (p *Provider) logCollision(name, regionName, label string) {
	p.mu.Lock()
	logged := p.collisions[label]
	p.collisions[label] = true
	p.mu.Unlock()
	if !logged {
		p.logger.Warn("scalingo app name exists in an earlier region, routing this app under a suffixed label",
			"app", name, "region", regionName, "label", label)
	}
}

func toEngineApp(a appJSON, label string, r region, parent string) engine.App {
	upstream := a.URL
	if upstream == "" {
		upstream = a.BaseURL
	}
	details := map[string]string{
		detailName:   a.Name,
		detailStatus: a.Status,
	}
	if a.BaseURL != "" && a.BaseURL != upstream {
		details[detailBaseURL] = a.BaseURL
	}
	return engine.App{
		Name:     label,
		ID:       a.ID,
		Provider: Name,
		Region:   r.name,
		State:    stateFromStatus(a.Status),
		URL:      upstream,
		Parent:   parent,
		Details:  details,
	}
}

// stateFromStatus maps the documented app statuses to engine states. An
// app that is "new" has never been deployed, so paastis cannot start it.
func stateFromStatus(status string) engine.State {
	switch status {
	case "running":
		return engine.StateRunning
	case "stopped":
		return engine.StateStopped
	case "scaling", "booting", "restarting":
		return engine.StateStarting
	case "crashed":
		return engine.StateFailed
	default:
		return engine.StateUnknown
	}
}
