package api

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	"github.com/paastis/paastis/internal/engine"
)

//go:embed dashboard.html
var dashboardTemplates string

var pages = template.Must(template.New("pages").Parse(dashboardTemplates))

// page is the data of the dashboard and login templates.
type page struct {
	Lang    string
	T       map[string]string
	Nonce   string
	Version string
	// SignOut shows the sign-out button, when a token protects the page.
	SignOut bool
	Apps    []appRow
	// Error is a message of the login form, empty when none.
	Error string
}

// appRow is one app of the dashboard's table, as the server renders it
// before the script takes over.
type appRow struct {
	Name       string
	State      engine.State
	StateText  string
	LastAccess string
	SleepsIn   string
	Provider   string
	Region     string
	CanWake    bool
	CanSleep   bool
}

func (a *Admin) dashboard(w http.ResponseWriter, r *http.Request) {
	lang := preferredLanguage(r)
	text := messages[lang]
	now := time.Now()
	views := appViews(a.opts.Engine)
	rows := make([]appRow, 0, len(views))
	for _, view := range views {
		rows = append(rows, newAppRow(view, text, lang, now))
	}
	a.render(w, "dashboard", http.StatusOK, page{
		Lang:    lang,
		T:       text,
		Version: a.opts.Version,
		SignOut: a.opts.Token != "",
		Apps:    rows,
	})
}

func newAppRow(view appView, text map[string]string, lang string, now time.Time) appRow {
	row := appRow{
		Name:       view.Name,
		State:      view.Status,
		StateText:  text[string(view.Status)],
		LastAccess: formatAgo(lang, now.Sub(view.LastAccessedAt)),
		Provider:   view.Provider,
		Region:     view.Region,
		CanWake:    view.IsMonitored && view.Status != engine.StateRunning && view.Status != engine.StateStarting,
		CanSleep:   view.IsMonitored && view.Status == engine.StateRunning,
	}
	switch {
	case !view.IsMonitored:
		row.SleepsIn = text["ignored"]
	case view.Status == engine.StateRunning && view.InFlight > 0:
		row.SleepsIn = text["busy"]
	case view.SleepsAt != nil && view.SleepsAt.After(now):
		row.SleepsIn = formatDuration(view.SleepsAt.Sub(now))
	case view.SleepsAt != nil:
		row.SleepsIn = text["due"]
	default:
		row.SleepsIn = "–"
	}
	return row
}

func (a *Admin) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.opts.Token == "" || a.authenticated(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.renderLogin(w, r, http.StatusOK, false)
}

// renderLogin renders the login form with status, and the error that
// matches status when failed is set.
func (a *Admin) renderLogin(w http.ResponseWriter, r *http.Request, status int, failed bool) {
	lang := preferredLanguage(r)
	data := page{Lang: lang, T: messages[lang], Version: a.opts.Version}
	if failed {
		data.Error = data.T["wrongToken"]
		if status == http.StatusTooManyRequests {
			data.Error = data.T["tooMany"]
		}
	}
	a.render(w, "login", status, data)
}

// render executes a template with a fresh CSP nonce, so that only the
// page's own inline style and script run.
func (a *Admin) render(w http.ResponseWriter, name string, status int, data page) {
	// rand.Text uses base32 letters and digits only, which html/template
	// writes into the nonce attributes without escaping.
	data.Nonce = rand.Text()

	var body bytes.Buffer
	if err := pages.ExecuteTemplate(&body, name, data); err != nil {
		a.opts.Logger.Error("render the dashboard failed", "template", name, "error", err)
		http.Error(w, "render the page failed", http.StatusInternalServerError)
		return
	}
	header := w.Header()
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("Content-Language", data.Lang)
	header.Set("Vary", "Accept-Language, Cookie")
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+data.Nonce+"'; script-src 'nonce-"+data.Nonce+"'; "+
		"connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}
