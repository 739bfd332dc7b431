package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// messages holds the dashboard's text by language. Keys are shared with the
// page's script, which reads them from the same map.
var messages = map[string]map[string]string{
	"en": {
		"title":        "paastis dashboard",
		"apps":         "Apps",
		"app":          "App",
		"state":        "State",
		"lastAccess":   "Last access",
		"sleepsIn":     "Sleeps in",
		"provider":     "Provider",
		"region":       "Region",
		"actions":      "Actions",
		"wake":         "Wake",
		"sleep":        "Sleep",
		"ignored":      "ignored",
		"busy":         "busy",
		"due":          "at the next sweep",
		"noApps":       "No app yet. Apps appear after the first sync with the provider.",
		"live":         "Live",
		"offline":      "Reconnecting…",
		"signOut":      "Sign out",
		"signIn":       "Sign in",
		"token":        "Admin token",
		"loginHelp":    "Enter the value of ADMIN_API_TOKEN.",
		"wrongToken":   "Wrong token.",
		"tooMany":      "Too many failed attempts: wait a few seconds and try again.",
		"actionFailed": "Action failed",
		"unknown":      "unknown",
		"running":      "running",
		"stopped":      "stopped",
		"starting":     "starting",
		"stopping":     "stopping",
		"failed":       "failed",
	},
	"fr": {
		"title":        "Tableau de bord paastis",
		"apps":         "Applications",
		"app":          "Application",
		"state":        "État",
		"lastAccess":   "Dernier accès",
		"sleepsIn":     "Veille dans",
		"provider":     "Fournisseur",
		"region":       "Région",
		"actions":      "Actions",
		"wake":         "Réveiller",
		"sleep":        "Endormir",
		"ignored":      "ignorée",
		"busy":         "occupée",
		"due":          "au prochain passage",
		"noApps":       "Aucune application pour l'instant. Elles apparaissent après la première synchronisation avec le fournisseur.",
		"live":         "En direct",
		"offline":      "Reconnexion…",
		"signOut":      "Se déconnecter",
		"signIn":       "Se connecter",
		"token":        "Jeton d'administration",
		"loginHelp":    "Saisissez la valeur de ADMIN_API_TOKEN.",
		"wrongToken":   "Jeton incorrect.",
		"tooMany":      "Trop d'échecs : attendez quelques secondes puis réessayez.",
		"actionFailed": "Échec de l'action",
		"unknown":      "inconnu",
		"running":      "en marche",
		"stopped":      "arrêtée",
		"starting":     "en démarrage",
		"stopping":     "en arrêt",
		"failed":       "en échec",
	},
}

// preferredLanguage returns "fr" when the Accept-Language header prefers
// French to English, and "en" otherwise.
func preferredLanguage(r *http.Request) string {
	best, bestQ := "en", -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if _, ok := messages[base]; !ok {
			continue
		}
		q := 1.0
		if value, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			parsed, err := strconv.ParseFloat(value, 64)
			if err != nil {
				continue
			}
			q = parsed
		}
		if q > bestQ && q > 0 {
			best, bestQ = base, q
		}
	}
	return best
}

// formatDuration writes a duration as "1 h 05 min", "12 min" or "40 s",
// the same way as the page's script.
func formatDuration(d time.Duration) string {
	seconds := int64(d.Round(time.Second).Seconds())
	switch {
	case seconds < 60:
		return fmt.Sprintf("%d s", max(seconds, 0))
	case seconds < 3600:
		return fmt.Sprintf("%d min", seconds/60)
	default:
		return fmt.Sprintf("%d h %02d min", seconds/3600, seconds%3600/60)
	}
}

// formatAgo writes how long ago a time was, in the page's language.
func formatAgo(lang string, d time.Duration) string {
	if lang == "fr" {
		return "il y a " + formatDuration(d)
	}
	return formatDuration(d) + " ago"
}
