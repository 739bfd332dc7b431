package proxy

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// page is an error page that paastis serves itself, in the language that
// the client prefers.
type page struct {
	Status     int
	Title      string
	Message    string
	Detail     string
	RetryAfter int // seconds; 0 sends no Retry-After header
	Lang       string
}

// pageText holds the two translations of a page's title and message.
type pageText struct {
	TitleEN, MessageEN string
	TitleFR, MessageFR string
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Status}} · {{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.4rem}
pre{white-space:pre-wrap;background:#f4f4f4;padding:.75rem;border-radius:4px;font-size:.85rem}
footer{color:#777;font-size:.8rem;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Detail}}<pre>{{.Detail}}</pre>{{end}}
<footer>paastis · HTTP {{.Status}}</footer>
</body>
</html>
`))

// preferredLanguage returns "fr" when the Accept-Language header ranks
// French above English, and "en" otherwise.
func preferredLanguage(r *http.Request) string {
	header := r.Header.Get("Accept-Language")
	if header == "" {
		return "en"
	}
	best, bestQ := "en", -1.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if value, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if parsed, err := strconv.ParseFloat(value, 64); err == nil {
				q = parsed
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (primary == "fr" || primary == "en") && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}

// writePage sends p as HTML, or as plain text to clients that do not
// accept HTML, such as scripts.
func writePage(w http.ResponseWriter, r *http.Request, text pageText, p page) {
	p.Lang = preferredLanguage(r)
	p.Title, p.Message = text.TitleEN, text.MessageEN
	if p.Lang == "fr" {
		p.Title, p.Message = text.TitleFR, text.MessageFR
	}

	header := w.Header()
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	if p.RetryAfter > 0 {
		header.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		header.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(p.Status)
		body := p.Title + ": " + p.Message + "\n"
		if p.Detail != "" {
			body += p.Detail + "\n"
		}
		_, _ = w.Write([]byte(body))
		return
	}
	var buf bytes.Buffer
	if err := errorPage.Execute(&buf, p); err != nil {
		http.Error(w, p.Title, p.Status)
		return
	}
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}
