package api_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paastis/paastis/internal/api"
)

// openAPI is the part of an OpenAPI 3 document that the test reads.
type openAPI struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]any `yaml:"schemas"`
	} `yaml:"components"`
}

type openAPIOperation struct {
	Summary   string         `yaml:"summary"`
	Responses map[string]any `yaml:"responses"`
}

// documentedRoutes returns the document's operations as ServeMux patterns,
// such as "GET /api/apps/{name}".
func documentedRoutes(t *testing.T, doc openAPI) []string {
	t.Helper()
	var routes []string
	for path, item := range doc.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var operation openAPIOperation
			if err := node.Decode(&operation); err != nil {
				t.Errorf("%s %s: %v", method, path, err)
				continue
			}
			if len(operation.Responses) == 0 || operation.Summary == "" {
				t.Errorf("%s %s has no summary or no responses", method, path)
			}
			pattern := path
			if path == "/" {
				pattern = "/{$}"
			}
			routes = append(routes, strings.ToUpper(method)+" "+pattern)
		}
	}
	slices.Sort(routes)
	return routes
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPI
	if err := yaml.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, expected a 3.x document", doc.OpenAPI)
	}
	provider := newFakeProvider(t)
	admin := api.NewAdmin(api.AdminOptions{Engine: newEngine(t, provider, engineOptions{})})

	documented := documentedRoutes(t, doc)
	routed := slices.Sorted(slices.Values(api.RoutePatterns(admin)))

	for _, route := range routed {
		if !slices.Contains(documented, route) {
			t.Errorf("route %q is not documented in openapi.yaml", route)
		}
	}
	for _, route := range documented {
		if !slices.Contains(routed, route) {
			t.Errorf("openapi.yaml documents %q, which is not routed", route)
		}
	}
	for _, schema := range []string{"App", "Event", "Error", "ActionResult", "Readiness"} {
		if doc.Components.Schemas[schema] == nil {
			t.Errorf("openapi.yaml has no %s schema", schema)
		}
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(node any)
	walk = func(node any) {
		switch node := node.(type) {
		case map[string]any:
			for key, value := range node {
				if ref, ok := value.(string); ok && key == "$ref" {
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(value)
			}
		case []any:
			for _, value := range node {
				walk(value)
			}
		}
	}
	walk(doc)
}

// resolves reports whether a local "#/a/b" reference names a node.
func resolves(doc map[string]any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var node any = doc
	for part := range strings.SplitSeq(path, "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return false
		}
		if node, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func TestOpenAPIServed(t *testing.T) {
	w := newAdminWorld(t, adminToken, engineOptions{})

	resp := do(t, http.MethodGet, w.url+"/api/openapi.yaml", nil, nil)

	if resp.status != http.StatusOK || !bytes.Equal(resp.body, api.OpenAPIDocument()) {
		t.Errorf("GET /api/openapi.yaml = %d with %d bytes, expected the embedded document", resp.status, len(resp.body))
	}
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type = %q, expected application/yaml", ct)
	}
}
