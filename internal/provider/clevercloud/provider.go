// Package clevercloud runs paastis apps on Clever Cloud through its API v2.
// It lists the applications of the personal space and of every
// organisation that the OAuth token can see. It starts an app with a
// redeploy and stops it with an undeploy.
package clevercloud

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

// Name is the provider name that apps carry in engine.App.Provider.
const Name = "clever-cloud"

// Keys of engine.App.Details set by this provider.
const (
	DetailOwnerID     = "owner_id"
	DetailOwnerName   = "owner_name"
	DetailIDLabel     = "id_label"
	DetailAppName     = "app_name"
	DetailCleverState = "clever_state"
	DetailVHost       = "vhost"
	DetailRuntime     = "runtime"
)

// errOperationTimeout is the cause of the context of a start or stop that
// ran out of OperationTimeout.
var errOperationTimeout = errors.New("operation timeout")

// idPattern matches the ids that may go into an API path: Clever ids such
// as "app_<uuid>", "orga_<uuid>" and "user_<uuid>".
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

var _ engine.Provider = (*Provider)(nil)

// Provider is the Clever Cloud provider. It is safe for concurrent use.
type Provider struct {
	client           *apiClient
	logger           *slog.Logger
	operationTimeout time.Duration
	pollInterval     time.Duration
	concurrency      int
	vhost            string
	upstreamScheme   string

	mu sync.Mutex // guards the fields below
	// refs indexes the apps of the latest listing by id, Name and id label.
	refs map[string]appRef
	// aliases maps alias labels to Names, from the latest listing.
	aliases map[string]string
	// reported holds the keys of the listing problems already logged, so
	// that each is logged once while it lasts.
	reported map[string]bool
}

// appRef is the id, owner and routing name of an app, enough to build its
// API paths.
type appRef struct {
	id      string
	ownerID string
	name    string
}

// New returns a provider. It checks the options but sends no request.
func New(opts Options) (*Provider, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("clever cloud provider: %w", err)
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("provider", Name)

	client, err := newAPIClient(opts, logger)
	if err != nil {
		return nil, fmt.Errorf("clever cloud provider: %w", err)
	}
	return &Provider{
		client:           client,
		logger:           logger,
		operationTimeout: opts.OperationTimeout,
		pollInterval:     opts.PollInterval,
		concurrency:      opts.Concurrency,
		vhost:            strings.TrimSuffix(strings.ToLower(opts.VHost), "/"),
		upstreamScheme:   opts.UpstreamScheme,
		reported:         make(map[string]bool),
	}, nil
}

// withDefaults fills the zero fields of opts and checks the others.
func withDefaults(opts Options) (Options, error) {
	var problems []string

	var missing []string
	for _, field := range []struct{ name, value string }{
		{"ConsumerKey (" + EnvConsumerKey + ")", opts.ConsumerKey},
		{"ConsumerSecret (" + EnvConsumerSecret + ")", opts.ConsumerSecret},
		{"Token (" + EnvToken + ")", opts.Token},
		{"TokenSecret (" + EnvTokenSecret + ")", opts.TokenSecret},
	} {
		if field.value == "" {
			missing = append(missing, field.name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", ")+": set the OAuth credentials of your Clever Cloud account")
	}

	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	} else {
		apiURL, problem := normalizeAPIURL(opts.APIURL)
		if problem != "" {
			problems = append(problems, "APIURL: "+problem)
		}
		opts.APIURL = apiURL
	}

	method, ok := normalizeSignatureMethod(cmp.Or(opts.SignatureMethod, DefaultSignatureMethod))
	if !ok {
		problems = append(problems, fmt.Sprintf("invalid SignatureMethod %q: use HMAC-SHA512, HMAC-SHA1 or PLAINTEXT", opts.SignatureMethod))
	}
	opts.SignatureMethod = method

	if opts.Concurrency < 0 || opts.Concurrency > maxConcurrency {
		problems = append(problems, fmt.Sprintf("invalid Concurrency %d: must be from 1 to %d", opts.Concurrency, maxConcurrency))
	}
	if opts.MaxAttempts < 0 {
		problems = append(problems, fmt.Sprintf("invalid MaxAttempts %d: must be 1 or more", opts.MaxAttempts))
	}
	scheme := strings.ToLower(cmp.Or(opts.UpstreamScheme, DefaultUpstreamScheme))
	if scheme != "https" && scheme != "http" {
		problems = append(problems, fmt.Sprintf("invalid UpstreamScheme %q: use https or http", opts.UpstreamScheme))
	}
	opts.UpstreamScheme = scheme

	if len(problems) > 0 {
		return opts, errors.New(strings.Join(problems, "; "))
	}

	opts.Concurrency = cmp.Or(opts.Concurrency, DefaultConcurrency)
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	opts.OperationTimeout = positiveOr(opts.OperationTimeout, DefaultOperationTimeout)
	opts.RequestTimeout = positiveOr(opts.RequestTimeout, DefaultRequestTimeout)
	opts.PollInterval = positiveOr(opts.PollInterval, DefaultPollInterval)
	opts.MaxAttempts = cmp.Or(opts.MaxAttempts, DefaultMaxAttempts)
	opts.RetryBaseDelay = positiveOr(opts.RetryBaseDelay, DefaultRetryBaseDelay)
	opts.RetryMaxDelay = max(positiveOr(opts.RetryMaxDelay, DefaultRetryMaxDelay), opts.RetryBaseDelay)
	return opts, nil
}

func positiveOr(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}

// Aliases returns the extra routing labels of the apps found by the latest
// successful Apps call, as a map from alias label to the app's Name. An app
// routed by the slug of its name has its id label (its id with "_"
// replaced by "-") as alias, so that "app-<uuid>.<domain>" reaches it too.
// The map is a copy; it is empty before the first Apps call.
func (p *Provider) Aliases() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	aliases := make(map[string]string, len(p.aliases))
	for alias, name := range p.aliases {
		aliases[alias] = name
	}
	return aliases
}

// resolve finds the id and owner of an app. Apps listed by this provider
// carry both in ID and Details. Other apps are looked up by id or name in
// the latest listing, and the apps are listed again when it lacks them.
func (p *Provider) resolve(ctx context.Context, app engine.App) (appRef, error) {
	if app.ID != "" && app.Details[DetailOwnerID] != "" {
		return appRef{id: app.ID, ownerID: app.Details[DetailOwnerID], name: cmp.Or(app.Name, app.ID)}, nil
	}
	if ref, ok := p.lookup(app); ok {
		return ref, nil
	}
	if _, err := p.Apps(ctx); err != nil {
		return appRef{}, fmt.Errorf("looking up clever cloud app %q: %w", cmp.Or(app.Name, app.ID), err)
	}
	if ref, ok := p.lookup(app); ok {
		return ref, nil
	}
	return appRef{}, fmt.Errorf("clever cloud app %q: %w", cmp.Or(app.Name, app.ID), engine.ErrAppNotFound)
}

func (p *Provider) lookup(app engine.App) (appRef, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, key := range []string{app.ID, app.Name} {
		if key == "" {
			continue
		}
		if ref, ok := p.refs[key]; ok {
			return ref, true
		}
	}
	return appRef{}, false
}

// appPath returns the API path of an app, below the base URL.
func appPath(ref appRef) (string, error) {
	if !idPattern.MatchString(ref.id) || !idPattern.MatchString(ref.ownerID) {
		return "", fmt.Errorf("clever cloud app %q: invalid id %q or owner %q: %w", ref.name, ref.id, ref.ownerID, engine.ErrAppNotFound)
	}
	return ownerPath(ref.ownerID) + "/applications/" + ref.id, nil
}

// ownerPath returns the API path of an owner: "/self" for the user's
// personal space ("user_..." ids), "/organisations/<id>" otherwise.
func ownerPath(ownerID string) string {
	if strings.HasPrefix(ownerID, "user_") {
		return "/self"
	}
	return "/organisations/" + ownerID
}

// wrapAppError adds the action and the app to err, and wraps
// engine.ErrAppNotFound when the API responded with 404.
func wrapAppError(action string, ref appRef, err error) error {
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s clever cloud app %q: %w: %w", action, ref.name, engine.ErrAppNotFound, err)
	}
	return fmt.Errorf("%s clever cloud app %q: %w", action, ref.name, err)
}

// sleep waits for d or until ctx ends, and returns ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
