package api

// RoutePatterns returns the ServeMux patterns of the admin listener, such
// as "GET /api/apps/{name}", for the OpenAPI test.
func RoutePatterns(a *Admin) []string {
	patterns := make([]string, len(a.routes))
	for i, rt := range a.routes {
		patterns[i] = rt.pattern
	}
	return patterns
}

// OpenAPIDocument returns the embedded OpenAPI document.
func OpenAPIDocument() []byte { return openAPIDocument }
