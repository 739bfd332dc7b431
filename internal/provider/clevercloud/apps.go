package clevercloud

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/paastis/paastis/internal/engine"
)

// maxLabel is the maximum length of a DNS label.
const maxLabel = 63

// summaryResponse is the part of GET /v2/summary that names the owners and
// counts their apps.
type summaryResponse struct {
	User          summaryOwner   `json:"user"`
	Organisations []summaryOwner `json:"organisations"`
}

type summaryOwner struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Applications []struct {
		ID string `json:"id"`
	} `json:"applications"`
}

// application is the part of an app in GET .../applications that paastis
// reads. The "deployment" field is left out on purpose, because its httpUrl
// is the git push URL and not the address the app serves on.
type application struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Zone    string `json:"zone"`
	State   string `json:"state"`
	OwnerID string `json:"ownerId"`
	VHosts  []struct {
		FQDN string `json:"fqdn"`
	} `json:"vhosts"`
	Instance struct {
		Variant struct {
			Slug string `json:"slug"`
		} `json:"variant"`
	} `json:"instance"`
}

// owner is a space that holds apps: the personal space or an organisation.
type owner struct {
	id   string
	name string
}

// listedApp is an app with its owner and its routing labels.
type listedApp struct {
	app     application
	owner   owner
	idLabel string
	slug    string
}

// Apps lists the apps of the personal space and of every organisation that
// the token can see, in every zone. It fails as a whole when one owner's
// list fails, because a partial list would read as deleted apps.
//
// Each app's Name is the slug of its name when no other app has the same
// slug, and its id label ("app-<uuid>") otherwise; Aliases gives the id
// labels of slug-named apps.
func (p *Provider) Apps(ctx context.Context) ([]engine.App, error) {
	owners, problems, err := p.owners(ctx)
	if err != nil {
		return nil, err
	}

	lists := make([][]application, len(owners))
	group, groupCtx := errgroup.WithContext(ctx)
	group.SetLimit(p.concurrency)
	for i, o := range owners {
		group.Go(func() error {
			req := request{operation: "list_apps", method: http.MethodGet, path: ownerPath(o.id) + "/applications"}
			if err := p.client.do(groupCtx, req, &lists[i]); err != nil {
				return fmt.Errorf("listing the clever cloud apps of %q: %w", cmp.Or(o.name, o.id), err)
			}
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return nil, err
	}

	var listed []listedApp
	seen := make(map[string]bool)
	for i, o := range owners {
		for _, a := range lists[i] {
			// An app listed twice would get two routes with one name.
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			a.OwnerID = cmp.Or(a.OwnerID, o.id)
			listed = append(listed, listedApp{app: a, owner: o, idLabel: idLabel(a.ID), slug: slugify(a.Name)})
		}
	}
	return p.routeApps(listed, problems), nil
}

// owners reads the summary and returns the personal space and the
// organisations that hold at least one app. Owners without apps are not
// listed, which saves one request per empty organisation. Owners whose id
// cannot go into a path are returned as problems.
func (p *Provider) owners(ctx context.Context) ([]owner, []listingProblem, error) {
	var summary summaryResponse
	if err := p.client.do(ctx, request{operation: "get_summary", method: http.MethodGet, path: "/summary"}, &summary); err != nil {
		return nil, nil, fmt.Errorf("reading the clever cloud summary: %w", err)
	}

	var owners []owner
	var problems []listingProblem
	for _, o := range append([]summaryOwner{summary.User}, summary.Organisations...) {
		if o.ID == "" || len(o.Applications) == 0 {
			continue
		}
		if !idPattern.MatchString(o.ID) {
			problems = append(problems, listingProblem{
				key:     "owner:" + o.ID,
				message: "skipping a Clever Cloud owner with an unexpected id",
				attrs:   []any{"owner_id", o.ID, "owner_name", o.Name},
			})
			continue
		}
		owners = append(owners, owner{id: o.ID, name: o.Name})
	}
	return owners, problems, nil
}

// routeApps gives each app its Name and upstream URL, records the index
// and the aliases, and logs the new problems, its own and those given.
func (p *Provider) routeApps(listed []listedApp, problems []listingProblem) []engine.App {
	slugCount := make(map[string]int)
	idLabels := make(map[string]bool)
	for _, l := range listed {
		slugCount[l.slug]++
		idLabels[l.idLabel] = true
	}

	var (
		apps      []engine.App
		refs      = make(map[string]appRef)
		aliases   = make(map[string]string)
		conflicts = make(map[string][]string) // slug -> ids of the apps that share it
	)
	for _, l := range listed {
		if !validLabel(l.idLabel) || !idPattern.MatchString(l.app.ID) {
			problems = append(problems, listingProblem{
				key:     "id:" + l.app.ID,
				message: "skipping a Clever Cloud app whose id is not a DNS label",
				attrs:   []any{"app_id", l.app.ID, "app_name", l.app.Name},
			})
			continue
		}

		name := l.idLabel
		switch {
		case l.slug == "":
		case slugCount[l.slug] > 1, idLabels[l.slug] && l.slug != l.idLabel:
			conflicts[l.slug] = append(conflicts[l.slug], l.app.ID)
		default:
			name = l.slug
			if name != l.idLabel {
				aliases[l.idLabel] = name
			}
		}

		upstream, vhost := p.upstream(l.app)
		if upstream == "" {
			problems = append(problems, listingProblem{
				key:     "vhost:" + l.app.ID,
				message: "Clever Cloud app has no usable vhost, so requests to it cannot be forwarded: add a domain to the app",
				attrs:   []any{"app", name, "app_id", l.app.ID},
			})
		}

		apps = append(apps, engine.App{
			Name:     name,
			ID:       l.app.ID,
			Provider: Name,
			Region:   l.app.Zone,
			State:    stateFromApp(l.app.State),
			URL:      upstream,
			Details:  details(l, vhost),
		})
		ref := appRef{id: l.app.ID, ownerID: l.app.OwnerID, name: name}
		refs[l.app.ID], refs[name], refs[l.idLabel] = ref, ref, ref
	}

	for slug, ids := range conflicts {
		slices.Sort(ids)
		problems = append(problems, listingProblem{
			key:     "slug:" + slug + ":" + strings.Join(ids, ","),
			message: "Clever Cloud apps share a name slug or clash with an id label, so they are routed by their id labels only",
			attrs:   []any{"slug", slug, "app_ids", ids},
		})
	}

	slices.SortFunc(apps, func(a, b engine.App) int { return strings.Compare(a.Name, b.Name) })
	p.record(refs, aliases, problems)
	return apps
}

// listingProblem is a problem found while listing, such as a slug
// conflict, logged once while it lasts.
type listingProblem struct {
	key     string
	message string
	attrs   []any
}

// record stores the index and aliases of a listing, and logs the problems
// that the previous listing did not have.
func (p *Provider) record(refs map[string]appRef, aliases map[string]string, problems []listingProblem) {
	p.mu.Lock()
	var fresh []listingProblem
	reported := make(map[string]bool, len(problems))
	for _, problem := range problems {
		if !p.reported[problem.key] {
			fresh = append(fresh, problem)
		}
		reported[problem.key] = true
	}
	p.refs, p.aliases, p.reported = refs, aliases, reported
	p.mu.Unlock()

	for _, problem := range fresh {
		p.logger.Warn(problem.message, problem.attrs...)
	}
}

func details(l listedApp, vhost string) map[string]string {
	d := map[string]string{
		DetailOwnerID:     l.app.OwnerID,
		DetailOwnerName:   l.owner.name,
		DetailIDLabel:     l.idLabel,
		DetailAppName:     l.app.Name,
		DetailCleverState: l.app.State,
		DetailVHost:       vhost,
		DetailRuntime:     l.app.Instance.Variant.Slug,
	}
	for key, value := range d {
		if value == "" {
			delete(d, key)
		}
	}
	return d
}

// upstream returns the upstream URL of an app and the vhost it comes from,
// or two empty strings when the app has no usable vhost. Wildcard vhosts
// and vhosts that do not parse as host and path are not usable.
func (p *Provider) upstream(a application) (string, string) {
	type candidate struct {
		vhost string // without the trailing "/"
		url   *url.URL
	}
	var candidates []candidate
	for _, v := range a.VHosts {
		vhost := strings.TrimSuffix(strings.TrimSpace(v.FQDN), "/")
		if vhost == "" || strings.ContainsAny(vhost, "*?# ") {
			continue
		}
		u, err := url.Parse(p.upstreamScheme + "://" + vhost)
		if err != nil || u.Host == "" || u.User != nil {
			continue
		}
		u.Host = strings.ToLower(u.Host)
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		candidates = append(candidates, candidate{vhost: strings.ToLower(u.Host) + u.Path, url: u})
	}
	if len(candidates) == 0 {
		return "", ""
	}

	chosen := candidates[0]
	if p.vhost != "" {
		exact := slices.IndexFunc(candidates, func(c candidate) bool { return c.vhost == p.vhost })
		suffix := slices.IndexFunc(candidates, func(c candidate) bool {
			host := c.url.Hostname()
			return host == p.vhost || strings.HasSuffix(host, "."+strings.TrimPrefix(p.vhost, "."))
		})
		switch {
		case exact >= 0:
			chosen = candidates[exact]
		case suffix >= 0:
			chosen = candidates[suffix]
		}
	}
	return chosen.url.String(), chosen.vhost + "/"
}

// stateFromApp maps the "state" of a listed app to an engine state.
func stateFromApp(state string) engine.State {
	switch state {
	case "SHOULD_BE_UP":
		return engine.StateRunning
	case "SHOULD_BE_DOWN":
		return engine.StateStopped
	case "WANTS_TO_BE_UP":
		return engine.StateStarting
	}
	return engine.StateUnknown
}

// idLabel returns an app id in DNS form: "app_<uuid>" becomes
// "app-<uuid>", the label of the default cleverapps.io domain.
func idLabel(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "_", "-"))
}

// slugify returns the routing slug of a free-text app name: lowercase, each
// run of characters other than ASCII letters and digits replaced by one
// "-", no leading or trailing "-", at most 63 characters. A name without
// ASCII letters or digits gives "".
func slugify(name string) string {
	var b strings.Builder
	pendingDash := false
	for _, r := range strings.ToLower(name) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if pendingDash && b.Len() > 0 {
				b.WriteByte('-')
			}
			pendingDash = false
			b.WriteRune(r)
			continue
		}
		pendingDash = true
	}
	slug := b.String()
	if len(slug) > maxLabel {
		slug = strings.TrimRight(slug[:maxLabel], "-")
	}
	return slug
}

// validLabel reports whether s is a lowercase DNS label.
func validLabel(s string) bool {
	if s == "" || len(s) > maxLabel || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}
