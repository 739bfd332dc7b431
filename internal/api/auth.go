package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sessionCookie is the name of the dashboard's login cookie.
const sessionCookie = "paastis_session"

// The dashboard's login, when a token is set:
//
// The operator types the admin token in the login form. The server checks
// it and sets a session cookie that contains an expiry time and an HMAC of
// it keyed by the token. So the cookie reveals nothing of the token, it
// expires on its own, and it becomes invalid when the token changes. It is
// HttpOnly, so page scripts cannot read it, and SameSite=Strict, so the
// browser sends it only with requests from the dashboard's own pages.
// Cross-origin POSTs are also rejected by http.CrossOriginProtection, which
// checks Sec-Fetch-Site and Origin.

// requireAuth lets through the requests that carry the token as a bearer
// token or a valid session cookie. Without a token, every request passes:
// the listener is on loopback and loopbackHostOnly guards it.
func (a *Admin) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.authenticated(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="paastis admin API"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong admin token: send it as \"Authorization: Bearer <ADMIN_API_TOKEN>\"")
	})
}

func (a *Admin) authenticated(r *http.Request) bool {
	if a.opts.Token == "" {
		return true
	}
	if token, ok := bearerToken(r); ok {
		return tokenEqual(token, a.opts.Token)
	}
	cookie, err := r.Cookie(sessionCookie)
	return err == nil && a.validSession(cookie.Value, time.Now())
}

// newSession returns a session cookie value that expires at expiry.
func (a *Admin) newSession(expiry time.Time) string {
	expires := strconv.FormatInt(expiry.Unix(), 10)
	return expires + "." + a.sessionMAC(expires)
}

// validSession reports whether value is a session that this token signed
// and that has not expired at now.
func (a *Admin) validSession(value string, now time.Time) bool {
	expires, mac, found := strings.Cut(value, ".")
	if !found {
		return false
	}
	seconds, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || now.Unix() >= seconds {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(a.sessionMAC(expires)))
}

func (a *Admin) sessionMAC(expires string) string {
	mac := hmac.New(sha256.New, []byte(a.opts.Token))
	mac.Write([]byte("paastis dashboard session until " + expires))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// login checks the token of the login form and sets the session cookie.
func (a *Admin) login(w http.ResponseWriter, r *http.Request) {
	if a.opts.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	// Failed logins draw from a limiter of one a second, burst five, and
	// no token is checked while it is empty, so that guessing costs time.
	// The bearer API is not limited this way.
	if a.logins.Tokens() < 1 {
		a.renderLogin(w, r, http.StatusTooManyRequests, true)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	received := r.PostFormValue("token")
	if !tokenEqual(received, a.opts.Token) {
		a.logins.Allow()
		a.opts.Logger.Warn("dashboard login rejected: wrong token", "remote_addr", r.RemoteAddr)
		a.renderLogin(w, r, http.StatusUnauthorized, true)
		return
	}

	expiry := time.Now().Add(a.opts.SessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    a.newSession(expiry),
		Path:     "/",
		Expires:  expiry,
		MaxAge:   int(a.opts.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	a.opts.Logger.Info("dashboard login", "remote_addr", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout deletes the session cookie.
func (a *Admin) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// loopbackHostOnly rejects requests whose Host header is not a loopback
// name or address. A listener without a token serves loopback only, and a
// web page could otherwise reach it with a domain that resolves to
// 127.0.0.1 (DNS rebinding).
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		ip := net.ParseIP(host)
		if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			writeError(w, http.StatusMisdirectedRequest, "host "+strconv.Quote(r.Host)+" rejected: without ADMIN_API_TOKEN the admin listener accepts only the hosts localhost, 127.0.0.1 and [::1]")
			return
		}
		next.ServeHTTP(w, r)
	})
}
