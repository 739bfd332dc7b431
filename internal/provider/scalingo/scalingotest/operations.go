package scalingotest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// maxContainersPerType is Scalingo's documented hard limit of containers
// of one process type.
const maxContainersPerType = 10

// operation is a scale operation. Its status depends only on the clock,
// so the fake needs no goroutine to move it forward: advance completes it
// when a request first looks at the app after its end.
type operation struct {
	id          string
	app         *app
	createdAt   time.Time
	runningAt   time.Time
	doneAt      time.Time
	target      []process
	failMessage string
	// finishedAt is set once advance has applied the result.
	finishedAt time.Time
}

func (op *operation) status(now time.Time) string {
	switch {
	case now.Before(op.runningAt):
		return "pending"
	case now.Before(op.doneAt):
		return "running"
	case op.failMessage != "":
		return "error"
	default:
		return "done"
	}
}

// startOperation makes the app busy until now+delay. The caller holds
// s.mu.
func (s *Server) startOperation(a *app, target []process, delay time.Duration, now time.Time) *operation {
	s.nextID++
	op := &operation{
		id:          fmt.Sprintf("op-%06d", s.nextID),
		app:         a,
		createdAt:   now,
		runningAt:   now.Add(delay / 2),
		doneAt:      now.Add(delay),
		target:      target,
		failMessage: a.failNextOperation,
	}
	a.failNextOperation = ""
	a.op = op
	s.operations[op.id] = op
	if s.opts.Logger != nil {
		s.opts.Logger.Info("scale operation started", "app", a.seed.Name, "region", a.seed.Region,
			"operation", op.id, "formation", formatFormation(target), "delay", delay)
	}
	return op
}

// advance applies the result of an app's operation once its end has
// passed. The caller holds s.mu.
func (s *Server) advance(a *app, now time.Time) {
	op := a.op
	if op == nil || now.Before(op.doneAt) {
		return
	}
	a.op = nil
	op.finishedAt = now
	if op.failMessage != "" {
		s.logOperationEnd(a, op, "failed")
		return
	}
	a.formation = op.target
	a.forcedStatus = ""
	s.logOperationEnd(a, op, "done")
}

// logOperationEnd logs the result of an operation when Options.Logger is
// set. The caller holds s.mu.
func (s *Server) logOperationEnd(a *app, op *operation, result string) {
	if s.opts.Logger == nil {
		return
	}
	s.opts.Logger.Info("scale operation "+result, "app", a.seed.Name, "region", a.seed.Region,
		"operation", op.id, "formation", formatFormation(a.formation), "error", op.failMessage)
}

// applyChanges returns the formation with the amounts of changes applied,
// or an error naming an unknown process type.
func applyChanges(formation, changes []process) ([]process, error) {
	target := slices.Clone(formation)
	for _, change := range changes {
		i := slices.IndexFunc(target, func(p process) bool { return p.Name == change.Name })
		if i < 0 {
			return nil, fmt.Errorf("scalingotest: unknown process type %q", change.Name)
		}
		target[i].Amount = change.Amount
		if change.Size != "" {
			target[i].Size = change.Size
		}
	}
	return target, nil
}

type scaleRequest struct {
	Containers []struct {
		Name   string `json:"name"`
		Amount *int   `json:"amount"`
		Size   string `json:"size"`
	} `json:"containers"`
}

// handleScale starts a scale operation and responds 202 with a Location
// header that points at it, as Scalingo documents.
func (s *Server) handleScale(w http.ResponseWriter, r *http.Request) {
	var request scaleRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&request); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "There was a problem in the JSON you submitted: " + err.Error()})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appFromRequest(w, r)
	if a == nil {
		return
	}

	if a.op != nil {
		s.writeBusy(w)
		return
	}

	if len(request.Containers) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"containers": {"can't be blank"}}})
		return
	}
	var changes []process
	for _, c := range request.Containers {
		if c.Amount == nil || *c.Amount < 0 || *c.Amount > maxContainersPerType {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{
				"amount": {fmt.Sprintf("must be between 0 and %d", maxContainersPerType)},
			}})
			return
		}
		changes = append(changes, process{Name: c.Name, Amount: *c.Amount, Size: c.Size})
	}
	target, err := applyChanges(a.formation, changes)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"resource": "container_type", "error": "not found"})
		return
	}

	delay := cmp.Or(a.seed.OperationDelay, s.opts.OperationDelay)
	op := s.startOperation(a, target, delay, time.Now())
	w.Header().Set("Location", s.APIURL(a.seed.Region)+"/v1/apps/"+a.seed.Name+"/operations/"+op.id)
	writeJSON(w, http.StatusAccepted, map[string]any{"containers": formationJSON(a, target)})
}

// writeBusy responds to a scale request made during another operation,
// with the status that Options.BusyStatus selects.
func (s *Server) writeBusy(w http.ResponseWriter) {
	const message = "an operation is already in progress on this app, retry when it is done"
	if s.opts.BusyStatus == http.StatusConflict {
		writeJSON(w, http.StatusConflict, map[string]string{"error": message})
		return
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"app": {message}}})
}

type operationJSON struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Status     string     `json:"status"`
	Type       string     `json:"type"`
	Error      string     `json:"error,omitempty"`
}

func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appFromRequest(w, r)
	if a == nil {
		return
	}
	op := s.operations[r.PathValue("id")]
	if op == nil || op.app != a {
		writeJSON(w, http.StatusNotFound, map[string]string{"resource": "operation", "error": "not found"})
		return
	}

	now := time.Now()
	object := operationJSON{
		ID:        op.id,
		CreatedAt: op.createdAt.UTC(),
		Status:    op.status(now),
		Type:      "scale",
	}
	if object.Status == "error" {
		object.Error = op.failMessage
	}
	if !op.finishedAt.IsZero() {
		finished := op.doneAt.UTC()
		object.FinishedAt = &finished
	}
	writeJSON(w, http.StatusOK, map[string]any{"operation": object})
}
