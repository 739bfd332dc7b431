package config

import (
	"os"
	"regexp"
	"time"
)

// Wake strategies accepted in WAKE_STRATEGY.
const (
	WakeStrategyAuto     = "auto"
	WakeStrategyBlocking = "blocking"
	WakeStrategyPage     = "page"
)

// decodeWaking reads the variables of the waking page, the readiness
// settle delay and the ignored user agents. WAKE_TIMEOUT is read with the
// system API variables.
func (d decoder) decodeWaking(cfg *Config) {
	d.choice("WAKE_STRATEGY", &cfg.WakeStrategy, WakeStrategyAuto, WakeStrategyBlocking, WakeStrategyPage)

	if path, ok := d.lookup("WAKE_PAGE_TEMPLATE"); ok {
		// The proxy parses the template at start-up. This check lets
		// check-config report a wrong path too.
		if info, err := os.Stat(path); err != nil {
			d.problems.Add("WAKE_PAGE_TEMPLATE: cannot read %q: %v: fix the path, or unset it to use the built-in waiting page", path, err)
		} else if info.IsDir() {
			d.problems.Add("WAKE_PAGE_TEMPLATE: %q is a directory: name an html/template file, or unset it to use the built-in waiting page", path)
		} else {
			cfg.WakePageTemplate = path
		}
	}

	if value, ok := d.lookup("WAKE_SETTLE_DELAY"); ok {
		delay, err := time.ParseDuration(value)
		if err != nil || delay < 0 {
			d.problems.Add("WAKE_SETTLE_DELAY: invalid value %q: must be a Go duration of 0 or more, such as 0s, 500ms or 2s", value)
		} else {
			cfg.WakeSettleDelay = delay
		}
	}

	if value, ok := d.lookup("ACTIVITY_IGNORED_USER_AGENTS"); ok {
		pattern, err := regexp.Compile(value)
		if err != nil {
			d.problems.Add("ACTIVITY_IGNORED_USER_AGENTS: invalid regular expression %q: %v: use Go's RE2 syntax, such as (?i)uptimerobot|pingdom", value, err)
		} else {
			cfg.IgnoredUserAgents = pattern
		}
	}
}
