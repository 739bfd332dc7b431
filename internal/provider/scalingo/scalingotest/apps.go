package scalingotest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// App is the seed of one fake app. The json and yaml tags let the fakepaas
// command read seeds from a file.
type App struct {
	// Name is the Scalingo app name, unique within its region.
	Name string `json:"name" yaml:"name"`
	// Region is the app's region. Empty means the default region.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// ID is the Scalingo app ID. Empty means a generated "app-<n>".
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// URL is the app's url field. Empty means the upstream that the fake
	// serves itself, see Server.UpstreamURL.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Formation is the current amount of each process type, such as
	// "web:2,worker:1". Empty means "web:1". All amounts at zero make a
	// stopped app.
	Formation string `json:"formation,omitempty" yaml:"formation,omitempty"`
	// Parent is the name of the app that this review app was created from,
	// in the same region. Empty for other apps.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
	// Status forces the app status to "new" or "crashed" until the next
	// successful operation. Empty means running or stopped, from the
	// formation.
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	// Body is the response body that the fake upstream sends while the
	// app runs. Empty means "hello from <name>".
	Body string `json:"body,omitempty" yaml:"body,omitempty"`
	// OperationDelay overrides Options.OperationDelay for this app when it
	// is not zero.
	OperationDelay time.Duration `json:"-" yaml:"-"`
}

type appKey struct{ region, name string }

type app struct {
	seed      App
	formation []process
	// forcedStatus is "new" or "crashed" until an operation succeeds.
	forcedStatus string
	createdAt    time.Time
	// op is the operation in progress, nil when none runs.
	op *operation
	// failNextOperation, when not empty, is the error message of the next
	// operation.
	failNextOperation string
}

// AddApp seeds an app and returns it with its defaults filled in. It
// panics on an invalid seed (unknown region, bad formation, duplicate
// name), which is a mistake in the test that calls it.
func (s *Server) AddApp(seed App) App {
	added, err := s.addApp(seed)
	if err != nil {
		panic(err)
	}
	return added
}

// AddApps seeds several apps, see AddApp.
func (s *Server) AddApps(seeds ...App) {
	for _, seed := range seeds {
		s.AddApp(seed)
	}
}

// LoadApps seeds several apps, for seeds read from a file. It returns the
// apps with their defaults filled in, or an error for the first invalid
// one.
func (s *Server) LoadApps(seeds []App) ([]App, error) {
	added := make([]App, 0, len(seeds))
	for _, seed := range seeds {
		app, err := s.addApp(seed)
		if err != nil {
			return added, err
		}
		added = append(added, app)
	}
	return added, nil
}

func (s *Server) addApp(seed App) (App, error) {
	seed.Region = s.region(seed.Region)
	if !slices.Contains(s.opts.Regions, seed.Region) {
		return App{}, fmt.Errorf("scalingotest: app %q: unknown region %q: use one of %q", seed.Name, seed.Region, s.opts.Regions)
	}
	if seed.Name == "" {
		return App{}, fmt.Errorf("scalingotest: an app has no name")
	}
	if seed.Status != "" && seed.Status != "new" && seed.Status != "crashed" {
		return App{}, fmt.Errorf("scalingotest: app %q: invalid status %q: use new, crashed or nothing", seed.Name, seed.Status)
	}
	seed.Formation = cmp.Or(seed.Formation, "web:1")
	formation, err := parseFormation(seed.Formation)
	if err != nil {
		return App{}, fmt.Errorf("scalingotest: app %q: %w", seed.Name, err)
	}
	seed.Body = cmp.Or(seed.Body, "hello from "+seed.Name)
	seed.URL = cmp.Or(seed.URL, s.UpstreamURL(seed.Region, seed.Name))

	s.mu.Lock()
	defer s.mu.Unlock()
	key := appKey{seed.Region, seed.Name}
	if _, exists := s.apps[key]; exists {
		return App{}, fmt.Errorf("scalingotest: app %q already exists in region %q", seed.Name, seed.Region)
	}
	if seed.ID == "" {
		s.nextID++
		seed.ID = fmt.Sprintf("app-%06d", s.nextID)
	}
	a := &app{
		seed:         seed,
		formation:    formation,
		forcedStatus: seed.Status,
		createdAt:    time.Now().UTC(),
	}
	s.apps[key] = a
	s.appOrder = append(s.appOrder, a)
	return seed, nil
}

// UpstreamURL returns the URL of the upstream that the fake serves for an
// app: 200 with the app's body while the app has web containers, 503
// otherwise.
func (s *Server) UpstreamURL(region, name string) string {
	return s.URL + "/upstream/" + s.region(region) + "/" + name
}

// Formation returns an app's current formation, zero amounts included and
// sorted by name ("web:0,worker:0"), or "" for an unknown app.
func (s *Server) Formation(region, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appKey{s.region(region), name}]
	if a == nil {
		return ""
	}
	s.advance(a, time.Now())
	return formatFormation(a.formation)
}

// Status returns an app's status as the API reports it ("running",
// "stopped", "scaling", ...), or "" for an unknown app.
func (s *Server) Status(region, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appKey{s.region(region), name}]
	if a == nil {
		return ""
	}
	s.advance(a, time.Now())
	return a.status()
}

// Running reports whether an app has web containers running, which is when
// its fake upstream responds with 200.
func (s *Server) Running(region, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appKey{s.region(region), name}]
	if a == nil {
		return false
	}
	s.advance(a, time.Now())
	return a.serving()
}

// Operations returns how many operations were started on an app.
func (s *Server) Operations(region, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appKey{s.region(region), name}]
	count := 0
	for _, op := range s.operations {
		if op.app == a {
			count++
		}
	}
	return count
}

// FailNextOperation makes the next operation on an app end with status
// "error" and this message, leaving the formation unchanged.
func (s *Server) FailNextOperation(region, name, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appKey{s.region(region), name}]; a != nil {
		a.failNextOperation = message
	}
}

// SetOperationDelay changes how long the next operations on an app last.
func (s *Server) SetOperationDelay(region, name string, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appKey{s.region(region), name}]; a != nil {
		a.seed.OperationDelay = delay
	}
}

// BeginScale starts a scale operation on an app, as another Scalingo
// client would, so that the app is busy for delay.
func (s *Server) BeginScale(region, name, formation string, delay time.Duration) error {
	changes, err := parseFormation(formation)
	if err != nil {
		return fmt.Errorf("scalingotest: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appKey{s.region(region), name}]
	if a == nil {
		return fmt.Errorf("scalingotest: app %q not found in region %q", name, s.region(region))
	}
	now := time.Now()
	s.advance(a, now)
	if a.op != nil {
		return fmt.Errorf("scalingotest: app %q is already busy", name)
	}
	target, err := applyChanges(a.formation, changes)
	if err != nil {
		return err
	}
	s.startOperation(a, target, delay, now)
	return nil
}

// lookup finds an app of a region by name or ID, as the API accepts both.
// The caller holds s.mu.
func (s *Server) lookup(region, ref string) (*app, error) {
	if a := s.apps[appKey{region, ref}]; a != nil {
		return a, nil
	}
	for _, a := range s.appOrder {
		if a.seed.Region == region && a.seed.ID == ref {
			return a, nil
		}
	}
	return nil, errNotFound
}

// status returns the app status field. The caller holds s.mu.
func (a *app) status() string {
	switch {
	case a.op != nil:
		return "scaling"
	case a.forcedStatus != "":
		return a.forcedStatus
	case totalAmount(a.formation) > 0:
		return "running"
	default:
		return "stopped"
	}
}

// serving reports whether the app's web containers run, so that its
// upstream responds with 200. The caller holds s.mu.
func (a *app) serving() bool {
	return a.forcedStatus == "" && amountOf(a.formation, "web") > 0
}

type ownerJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

type appJSON struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Region        string            `json:"region"`
	Status        string            `json:"status"`
	URL           string            `json:"url"`
	BaseURL       string            `json:"base_url"`
	GitURL        string            `json:"git_url"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	Owner         ownerJSON         `json:"owner"`
	Links         map[string]string `json:"links"`
	ParentAppName string            `json:"parent_app_name,omitempty"`
}

// toJSON returns the app object. The caller holds s.mu.
func (s *Server) toJSON(a *app) appJSON {
	object := appJSON{
		ID:        a.seed.ID,
		Name:      a.seed.Name,
		Region:    a.seed.Region,
		Status:    a.status(),
		URL:       a.seed.URL,
		BaseURL:   a.seed.URL,
		GitURL:    "git@ssh." + a.seed.Region + ".scalingotest.invalid:" + a.seed.Name + ".git",
		CreatedAt: a.createdAt,
		UpdatedAt: a.createdAt,
		Owner:     ownerJSON{ID: userID, Username: "scalingotest", Email: "owner@scalingotest.invalid"},
		Links:     map[string]string{},
	}
	if !s.opts.OmitParentInListing {
		object.ParentAppName = a.seed.Parent
	}
	return object
}

// appFromRequest finds the app named in the request path, advancing its
// operation. It writes the 404 response and returns nil when there is no
// such app. The caller holds s.mu.
func (s *Server) appFromRequest(w http.ResponseWriter, r *http.Request) *app {
	a, err := s.lookup(r.PathValue("region"), r.PathValue("app"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"resource": "app", "error": "not found"})
		return nil
	}
	s.advance(a, time.Now())
	return a
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	region := r.PathValue("region")
	now := time.Now()
	apps := []appJSON{}
	for _, a := range s.appOrder {
		if a.seed.Region != region {
			continue
		}
		s.advance(a, now)
		apps = append(apps, s.toJSON(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

func (s *Server) handleApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appFromRequest(w, r)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": s.toJSON(a)})
}

type containerTypeJSON struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	Amount  int    `json:"amount"`
	Size    string `json:"size"`
	Command string `json:"command"`
}

func formationJSON(a *app, formation []process) []containerTypeJSON {
	types := make([]containerTypeJSON, 0, len(formation))
	for _, p := range formation {
		types = append(types, containerTypeJSON{
			ID:     a.seed.ID + "-" + p.Name,
			AppID:  a.seed.ID,
			Name:   p.Name,
			Amount: p.Amount,
			Size:   p.Size,
		})
	}
	return types
}

func (s *Server) handleContainers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appFromRequest(w, r)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": formationJSON(a, a.formation)})
}

type containerJSON struct {
	ID            string            `json:"id"`
	AppID         string            `json:"app_id"`
	Type          string            `json:"type"`
	TypeIndex     int               `json:"type_index"`
	CreatedAt     time.Time         `json:"created_at"`
	DeletedAt     *time.Time        `json:"deleted_at"`
	State         string            `json:"state"`
	Command       string            `json:"command"`
	ContainerSize map[string]string `json:"container_size"`
}

// handlePs lists the containers: running ones for the current formation,
// plus booting or stopping ones while an operation changes the amounts.
func (s *Server) handlePs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appFromRequest(w, r)
	if a == nil {
		return
	}

	containers := []containerJSON{}
	add := func(processType string, index int, state, size string) {
		containers = append(containers, containerJSON{
			ID:            fmt.Sprintf("%s-%s-%d", a.seed.ID, processType, index),
			AppID:         a.seed.ID,
			Type:          processType,
			TypeIndex:     index,
			CreatedAt:     a.createdAt,
			State:         state,
			ContainerSize: map[string]string{"name": size},
		})
	}
	for _, p := range a.formation {
		current, target := p.Amount, p.Amount
		if a.op != nil {
			target = amountOf(a.op.target, p.Name)
		}
		stable := "running"
		if a.forcedStatus == "crashed" {
			stable = "crashed"
		}
		for i := 1; i <= min(current, target); i++ {
			add(p.Name, i, stable, p.Size)
		}
		for i := current + 1; i <= target; i++ {
			add(p.Name, i, "booting", p.Size)
		}
		for i := target + 1; i <= current; i++ {
			add(p.Name, i, "stopping", p.Size)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": containers})
}

func (s *Server) handleChildApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.appFromRequest(w, r)
	if parent == nil {
		return
	}
	children := []appJSON{}
	now := time.Now()
	for _, a := range s.appOrder {
		if a.seed.Region == parent.seed.Region && a.seed.Parent == parent.seed.Name {
			s.advance(a, now)
			child := s.toJSON(a)
			child.ParentAppName = parent.seed.Name
			children = append(children, child)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"child_apps": children})
}

type reviewAppJSON struct {
	ID            string         `json:"id"`
	AppID         string         `json:"app_id"`
	AppName       string         `json:"app_name"`
	ParentAppID   string         `json:"parent_app_id"`
	ParentAppName string         `json:"parent_app_name"`
	CreatedAt     time.Time      `json:"created_at"`
	PullRequest   map[string]any `json:"pull_request"`
}

// handleReviewApps lists the review apps of a parent. In the fake every
// child app is a review app, and an app without children has no SCM link,
// so the endpoint responds 404 for it.
func (s *Server) handleReviewApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.appFromRequest(w, r)
	if parent == nil {
		return
	}
	reviewApps := []reviewAppJSON{}
	for _, a := range s.appOrder {
		if a.seed.Region != parent.seed.Region || a.seed.Parent != parent.seed.Name {
			continue
		}
		reviewApps = append(reviewApps, reviewAppJSON{
			ID:            "ra-" + a.seed.ID,
			AppID:         a.seed.ID,
			AppName:       a.seed.Name,
			ParentAppID:   parent.seed.ID,
			ParentAppName: parent.seed.Name,
			CreatedAt:     a.createdAt,
			PullRequest:   map[string]any{"number": len(reviewApps) + 1},
		})
	}
	if len(reviewApps) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"resource": "scm_repo_link", "error": "not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"review_apps": reviewApps})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		// Only a client that disconnected makes the encoding fail, and
		// no one is left to report it to.
		return
	}
}

// DemoApps returns three apps for demos: one per region, and a review app.
// Their upstreams are served by the fake itself.
func DemoApps() []App {
	return []App{
		{Name: "demo-app", Region: "osc-fr1", Formation: "web:1", Body: "hello from demo-app, a Scalingo app woken by paastis"},
		{Name: "demo-api", Region: "osc-secnum-fr1", Formation: "web:2,worker:1", Body: "hello from demo-api, with two web containers and a worker"},
		{Name: "demo-app-pr12", Region: "osc-fr1", Formation: "web:1", Parent: "demo-app", Body: "hello from demo-app-pr12, a review app of demo-app"},
	}
}
