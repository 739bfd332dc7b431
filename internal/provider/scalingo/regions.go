package scalingo

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// regionsMaxAge is how long the provider keeps the regions list before it
// reads it again from the authentication service.
const regionsMaxAge = time.Hour

// region is a Scalingo region and the base URL of its API, without /v1.
type region struct {
	name   string
	apiURL string
}

// regionCache keeps the regions that the authentication service listed.
type regionCache struct {
	discovery singleflight.Group

	// mu guards regions and fetchedAt.
	mu        sync.Mutex
	regions   []region
	fetchedAt time.Time
}

// regions returns the regions to list apps in, in routing priority order.
func (p *Provider) regions(ctx context.Context) ([]region, error) {
	if p.opts.APIURL != "" {
		name := customRegion
		if len(p.opts.Regions) == 1 {
			name = p.opts.Regions[0]
		}
		return []region{{name: name, apiURL: p.opts.APIURL}}, nil
	}

	all, err := p.discoverRegions(ctx)
	if err != nil {
		return nil, err
	}
	return selectRegions(all, p.opts.Regions)
}

// discoverRegions returns every region that the authentication service
// lists, the default region first and the others sorted by name. It
// serves a cached list for an hour, and a stale one when the service
// fails.
func (p *Provider) discoverRegions(ctx context.Context) ([]region, error) {
	cache := &p.regionCache
	cache.mu.Lock()
	cached, fresh := cache.regions, time.Since(cache.fetchedAt) < regionsMaxAge
	cache.mu.Unlock()
	if cached != nil && fresh {
		return cached, nil
	}

	result, err, _ := cache.discovery.Do("regions", func() (any, error) {
		return p.fetchRegions(ctx)
	})
	if err != nil {
		if cached != nil {
			p.logger.Warn("cannot refresh the scalingo regions, using the previous list", "error", err)
			return cached, nil
		}
		return nil, err
	}

	regions := result.([]region)
	cache.mu.Lock()
	cache.regions, cache.fetchedAt = regions, time.Now()
	cache.mu.Unlock()
	return regions, nil
}

func (p *Provider) fetchRegions(ctx context.Context) ([]region, error) {
	var body struct {
		Regions []struct {
			Name    string `json:"name"`
			API     string `json:"api"`
			Default bool   `json:"default"`
		} `json:"regions"`
	}
	_, err := p.client.do(ctx, call{
		operation:  "list_regions",
		method:     http.MethodGet,
		url:        p.opts.AuthURL + "/v1/regions",
		idempotent: true,
	}, &body)
	if err != nil {
		return nil, fmt.Errorf("list scalingo regions: %w", err)
	}

	var regions []region
	defaultName := ""
	for _, r := range body.Regions {
		apiURL := strings.TrimRight(r.API, "/")
		// The bearer token goes to every region API, so an API URL that
		// would send it in clear text, or a bad name, is skipped.
		if err := checkBaseURL(apiURL); err != nil || !regionName.MatchString(r.Name) {
			p.logger.Warn("skipping a scalingo region with an invalid name or API URL", "region", r.Name, "api_url", redactURL(apiURL))
			continue
		}
		regions = append(regions, region{name: r.Name, apiURL: apiURL})
		if r.Default {
			defaultName = r.Name
		}
	}
	if len(regions) == 0 {
		return nil, fmt.Errorf("list scalingo regions: the authentication service at %s lists no usable region: set %s to a region API URL", p.opts.AuthURL, envAPIURL)
	}

	slices.SortFunc(regions, func(a, b region) int {
		return cmp.Or(
			compareBool(b.name == defaultName, a.name == defaultName),
			strings.Compare(a.name, b.name),
		)
	})
	return regions, nil
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// selectRegions returns the requested regions in the order given, or all
// of them when none is requested. A requested name also matches a region
// whose name is the same once hyphens are removed, so that "osc-fr-1",
// the spelling of the original paastis's sample, finds osc-fr1.
func selectRegions(all []region, requested []string) ([]region, error) {
	if len(requested) == 0 {
		return all, nil
	}
	selected := make([]region, 0, len(requested))
	for _, name := range requested {
		i := slices.IndexFunc(all, func(r region) bool { return r.name == name })
		if i < 0 {
			i = slices.IndexFunc(all, func(r region) bool { return withoutHyphens(r.name) == withoutHyphens(name) })
		}
		if i < 0 {
			names := make([]string, 0, len(all))
			for _, r := range all {
				names = append(names, r.name)
			}
			return nil, fmt.Errorf("scalingo region %q not found: Scalingo lists %q, fix %s", name, names, envRegions)
		}
		if !slices.Contains(selected, all[i]) {
			selected = append(selected, all[i])
		}
	}
	return selected, nil
}

func withoutHyphens(name string) string {
	return strings.ReplaceAll(name, "-", "")
}
