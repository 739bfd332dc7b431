package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashboardLogin(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})

	wrong, cookie := login(t, w.url, "wrong")
	if wrong.status != http.StatusUnauthorized || cookie != nil {
		t.Fatalf("wrong token: status %d, cookie %v, expected 401 and no cookie", wrong.status, cookie)
	}
	if !strings.Contains(string(wrong.body), "Wrong token.") {
		t.Error("the login form does not say that the token is wrong")
	}

	right, cookie := login(t, w.url, adminToken)
	if right.status != http.StatusSeeOther || right.header.Get("Location") != "/" {
		t.Fatalf("right token: status %d to %q, expected 303 to /", right.status, right.header.Get("Location"))
	}
	if cookie == nil {
		t.Fatal("no session cookie after a successful login")
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Errorf("cookie = %+v, expected HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	if strings.Contains(cookie.Value, adminToken) {
		t.Error("the session cookie contains the token")
	}

	withCookie := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	if resp := do(t, http.MethodGet, w.url+"/api/apps", withCookie, nil); resp.status != http.StatusOK {
		t.Errorf("GET /api/apps with the session = %d, expected 200", resp.status)
	}
	if resp := do(t, http.MethodGet, w.url+"/", withCookie, nil); resp.status != http.StatusOK {
		t.Errorf("dashboard with the session = %d, expected 200", resp.status)
	}
	if resp := do(t, http.MethodGet, w.url+"/login", withCookie, nil); resp.status != http.StatusSeeOther {
		t.Errorf("login form with the session = %d, expected a redirect to the dashboard", resp.status)
	}

	logout := do(t, http.MethodPost, w.url+"/logout", withCookie, nil)
	if logout.status != http.StatusSeeOther || !strings.Contains(logout.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout = %d with Set-Cookie %q, expected the cookie deleted", logout.status, logout.header.Get("Set-Cookie"))
	}
}

func TestDashboardSessionChecks(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})
	_, cookie := login(t, w.url, adminToken)
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	expires, mac, _ := strings.Cut(cookie.Value, ".")
	other := newAdminWorld(t, "another-token", engineOptions{})

	tests := []struct {
		name  string
		base  string
		value string
		want  int
	}{
		{"valid session", w.url, cookie.Value, http.StatusOK},
		{"session of another token", other.url, cookie.Value, http.StatusUnauthorized},
		{"expiry moved forward", w.url, "9999999999." + mac, http.StatusUnauthorized},
		{"expired session", w.url, "1000." + mac, http.StatusUnauthorized},
		{"forged signature", w.url, expires + "." + strings.Repeat("A", len(mac)), http.StatusUnauthorized},
		{"no signature", w.url, expires, http.StatusUnauthorized},
		{"the token itself", w.url, adminToken, http.StatusUnauthorized},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, test.base+"/api/apps", http.Header{"Cookie": {"paastis_session=" + test.value}}, nil)

			if resp.status != test.want {
				t.Errorf("status = %d, expected %d", resp.status, test.want)
			}
		})
	}
}

func TestDashboardLoginRateLimit(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})

	var statuses []int
	for range 8 {
		resp, _ := login(t, w.url, "guess")
		statuses = append(statuses, resp.status)
	}

	if statuses[0] != http.StatusUnauthorized {
		t.Errorf("first failed login = %d, expected 401", statuses[0])
	}
	if last := statuses[len(statuses)-1]; last != http.StatusTooManyRequests {
		t.Errorf("statuses = %v, expected 429 after the burst of failures", statuses)
	}
	resp := do(t, http.MethodGet, w.url+"/api/apps", bearer(adminToken), nil)
	if resp.status != http.StatusOK {
		t.Errorf("bearer API during the login limit = %d, expected 200", resp.status)
	}
}

// TestTokensComparedInConstantTime reads the package's source: every token
// comparison goes through tokenEqual, which uses crypto/subtle, and no
// token is compared with == or !=.
func TestTokensComparedInConstantTime(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var usesSubtle bool
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		source, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, source, 0)
		if err != nil {
			t.Fatal(err)
		}
		var current string
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				current = n.Name.Name
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "subtle" && current == "tokenEqual" {
						usesSubtle = true
					}
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ || isEmptyString(n) {
					return true
				}
				if current == "tokenEqual" && !isConstantTimeResult(n) {
					t.Errorf("%s: tokenEqual compares with %s: use subtle.ConstantTimeCompare", fset.Position(n.Pos()), n.Op)
				}
				for _, side := range []ast.Expr{n.X, n.Y} {
					text := strings.ToLower(string(source[fset.Position(side.Pos()).Offset:fset.Position(side.End()).Offset]))
					if strings.Contains(text, "token") && !strings.Contains(text, `""`) {
						t.Errorf("%s: token compared with %s: use tokenEqual", fset.Position(n.Pos()), n.Op)
					}
				}
			}
			return true
		})
	}
	if !usesSubtle {
		t.Error("tokenEqual does not call subtle.ConstantTimeCompare")
	}
}

// isConstantTimeResult reports whether a comparison tests the result of
// subtle.ConstantTimeCompare, as in "ConstantTimeCompare(a, b) == 1".
func isConstantTimeResult(n *ast.BinaryExpr) bool {
	call, ok := n.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "ConstantTimeCompare"
}

// isEmptyString reports whether a comparison is against "", which tests
// whether a token is set, not its value.
func isEmptyString(n *ast.BinaryExpr) bool {
	for _, side := range []ast.Expr{n.X, n.Y} {
		if lit, ok := side.(*ast.BasicLit); ok && lit.Value == `""` {
			return true
		}
	}
	return false
}
