// Package scalingo runs apps on Scalingo: it lists them in every region,
// stops them by scaling every process type to zero, and starts them by
// restoring the amounts they had.
//
// The client exchanges the API token for bearer tokens and renews them
// before they expire. It sends at most Options.RateLimit requests a minute,
// below the 60 per token that Scalingo allows, with at most
// Options.Concurrency in flight. It retries 429, 5xx and connection errors
// with capped exponential backoff that honours Retry-After.
//
// A sweep costs one GET /v1/apps per region. Formations, containers and
// operations are read only to start, stop or check one app.
package scalingo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/paastis/paastis/internal/engine"
)

// Name is the provider name in engine.App.Provider.
const Name = "scalingo"

var _ engine.Provider = (*Provider)(nil)

// Provider is the Scalingo provider. It is safe for concurrent use.
type Provider struct {
	opts        Options
	logger      *slog.Logger
	client      *client
	regionCache regionCache
	parents     parentFinder

	// mu guards index and collisions.
	mu sync.Mutex
	// index maps each routing label of the last listing to its app.
	index map[string]appRef
	// collisions holds the labels already logged as renamed, so that each
	// collision is logged once.
	collisions map[string]bool
}

// New returns a provider, or an error listing every invalid option. It
// makes no request: the first call to Apps exchanges the token and lists
// the regions.
func New(opts Options) (*Provider, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("invalid scalingo provider options: %w", err)
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("provider", Name)

	return &Provider{
		opts:       opts,
		logger:     logger,
		client:     newClient(opts, logger),
		parents:    parentFinder{entries: map[parentKey]*reviewAppsEntry{}},
		index:      map[string]appRef{},
		collisions: map[string]bool{},
	}, nil
}

// appRef locates one Scalingo app.
type appRef struct {
	// label is the routing label, engine.App.Name.
	label string
	// name is the Scalingo app name, unique within its region.
	name   string
	region region
}

// appURL returns the URL of one of the app's endpoints, such as
// appURL("/scale").
func (r appRef) appURL(suffix string) string {
	return r.region.apiURL + "/v1/apps/" + url.PathEscape(r.name) + suffix
}

// wrap adds the app to an error, and engine.ErrAppNotFound when Scalingo
// reported the app missing.
func (r appRef) wrap(action string, err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && (apiErr.Resource == "app" || apiErr.Resource == "") {
		return fmt.Errorf("%s scalingo app %q in region %q: %w: %w", action, r.name, r.region.name, engine.ErrAppNotFound, err)
	}
	return fmt.Errorf("%s scalingo app %q in region %q: %w", action, r.name, r.region.name, err)
}

// resolve finds the Scalingo app behind an engine app: from the last
// listing, else from the app's region and details (an app loaded from the
// registry after a restart), else from a new listing.
func (p *Provider) resolve(ctx context.Context, app engine.App) (appRef, error) {
	if ref, ok := p.lookup(app.Name); ok {
		return ref, nil
	}

	if name := app.Details[detailName]; name != "" && app.Region != "" {
		regions, err := p.regions(ctx)
		if err != nil {
			return appRef{}, err
		}
		for _, r := range regions {
			if r.name == app.Region {
				return appRef{label: app.Name, name: name, region: r}, nil
			}
		}
	}

	if _, err := p.Apps(ctx); err != nil {
		return appRef{}, fmt.Errorf("find scalingo app %q: %w", app.Name, err)
	}
	if ref, ok := p.lookup(app.Name); ok {
		return ref, nil
	}
	return appRef{}, fmt.Errorf("scalingo app %q: %w: no app has this routing label in the listed regions", app.Name, engine.ErrAppNotFound)
}

func (p *Provider) lookup(label string) (appRef, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ref, ok := p.index[label]
	return ref, ok
}
