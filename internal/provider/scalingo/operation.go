package scalingo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// errOperationTimeout is the cause of the context that bounds a start or
// a stop, so that its expiry is distinguished from the caller's deadline.
var errOperationTimeout = errors.New("scalingo operation timeout")

// operationDeadlineKey is the context key of the deadline that
// withOperationTimeout set.
type operationDeadlineKey struct{}

// withOperationTimeout bounds a start or a stop by OperationTimeout.
func (p *Provider) withOperationTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(p.opts.OperationTimeout)
	ctx = context.WithValue(ctx, operationDeadlineKey{}, deadline)
	return context.WithDeadlineCause(ctx, deadline, errOperationTimeout)
}

// operationTimedOut reports whether err comes from the deadline that
// withOperationTimeout set, rather than from the caller's. Requests end a
// little before the deadline when the next wait would pass it, so an
// error that wraps context.DeadlineExceeded counts too.
func operationTimedOut(ctx context.Context, err error) bool {
	if errors.Is(context.Cause(ctx), errOperationTimeout) {
		return true
	}
	ours, _ := ctx.Value(operationDeadlineKey{}).(time.Time)
	deadline, ok := ctx.Deadline()
	return ok && deadline.Equal(ours) && errors.Is(err, context.DeadlineExceeded)
}

// scale sets the amounts of the given process types and waits until the
// operation is done. While another operation runs on the app, Scalingo
// rejects the request, and scale retries it with backoff until ctx ends.
func (p *Provider) scale(ctx context.Context, ref appRef, containers []processType) error {
	request := struct {
		Containers []processType `json:"containers"`
	}{containers}

	var res response
	for attempt := 1; ; attempt++ {
		var err error
		res, err = p.client.do(ctx, call{
			operation: "scale",
			method:    http.MethodPost,
			url:       ref.appURL("/scale"),
			body:      request,
			// The amounts are absolute, so sending them twice has the
			// effect of sending them once.
			idempotent: true,
		}, nil)
		var apiErr *APIError
		if err == nil {
			break
		}
		if !errors.As(err, &apiErr) || !isBusy(apiErr) {
			return p.operationFailure(ctx, ref, "scale", "scale request not accepted", err)
		}

		delay := max(apiErr.RetryAfter, backoff(attempt, p.opts.MinRetryDelay, p.opts.MaxRetryDelay))
		p.logger.Info("scalingo app busy with another operation, retrying the scale",
			"app", ref.label, "region", ref.region.name, "attempt", attempt, "status", apiErr.StatusCode, "delay", delay)
		if err := sleep(ctx, delay); err != nil {
			return p.operationFailure(ctx, ref, "scale", "app still busy with another operation", apiErr)
		}
	}

	// Scalingo responds 200 without an operation when it scaled the app
	// at once, such as an app that was never deployed.
	if res.status != http.StatusAccepted {
		return nil
	}
	operationURL, err := p.operationURL(ref, res.header.Get("Location"))
	if err != nil {
		return ref.wrap("scale", err)
	}
	return p.followOperation(ctx, ref, operationURL)
}

// operationURL returns the URL to poll for an operation. The bearer token
// is sent to it, so a Location outside the region API is not followed:
// the operation ID is read from it and the URL rebuilt.
func (p *Provider) operationURL(ref appRef, location string) (string, error) {
	if location == "" {
		return "", errors.New("scale accepted without a Location header, so its operation cannot be followed")
	}
	base, err := url.Parse(ref.region.apiURL + "/")
	if err != nil {
		return "", err
	}
	target, err := base.Parse(location)
	if err != nil {
		return "", fmt.Errorf("invalid operation Location %q: %w", location, err)
	}
	if target.Scheme == base.Scheme && target.Host == base.Host && strings.Contains(target.Path, "/operations/") {
		return target.String(), nil
	}

	id := path.Base(target.Path)
	if id == "" || id == "/" || id == "." {
		return "", fmt.Errorf("invalid operation Location %q: no operation ID", location)
	}
	p.logger.Warn("scalingo operation Location is outside the region API, polling the region API instead",
		"app", ref.label, "region", ref.region.name, "location_host", target.Host)
	return ref.appURL("/operations/" + url.PathEscape(id)), nil
}

type operationBody struct {
	Operation struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Type   string `json:"type"`
		Error  string `json:"error"`
	} `json:"operation"`
}

// followOperation polls an operation until it is done, returning an
// *OperationError when it ends with status "error". The delay between
// reads grows, so that a long operation costs few requests of the rate
// limit.
func (p *Provider) followOperation(ctx context.Context, ref appRef, operationURL string) error {
	id := path.Base(operationURL)
	progress := "operation not read yet"
	delay := p.opts.PollInterval
	for {
		var body operationBody
		_, err := p.client.do(ctx, call{
			operation:  "show_operation",
			method:     http.MethodGet,
			url:        operationURL,
			idempotent: true,
		}, &body)
		if err != nil {
			return p.operationFailure(ctx, ref, "follow operation "+id+" of", progress, err)
		}

		op := body.Operation
		switch op.Status {
		case "done":
			return nil
		case "error":
			return ref.wrap("scale", &OperationError{
				App:     ref.name,
				ID:      op.ID,
				Type:    op.Type,
				Message: op.Error,
			})
		}
		progress = fmt.Sprintf("operation still %q", op.Status)

		if err := sleep(ctx, delay); err != nil {
			return p.operationFailure(ctx, ref, "follow operation "+id+" of", progress, err)
		}
		delay = min(delay*3/2, p.opts.MaxPollInterval)
	}
}

// operationFailure wraps the error of a scale or of its polling. It turns
// the expiry of OperationTimeout into a message that names the option to
// raise. progress, if not empty, describes where the operation stood.
func (p *Provider) operationFailure(ctx context.Context, ref appRef, action, progress string, err error) error {
	if !operationTimedOut(ctx, err) {
		return ref.wrap(action, err)
	}
	if progress != "" {
		progress = " (" + progress + ")"
	}
	return ref.wrap(action, fmt.Errorf("not done within %s%s: raise %s or check the app's timeline in the Scalingo dashboard: %w",
		p.opts.OperationTimeout, progress, envOperationTimeout, context.DeadlineExceeded))
}
