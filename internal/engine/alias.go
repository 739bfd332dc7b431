package engine

// Aliaser is implemented by providers whose apps have more than one
// routing label, such as Clever Cloud, where an app is reached by the slug
// of its name and also by its id ("app-<uuid>").
type Aliaser interface {
	// Aliases returns alias label -> app name, as of the latest Apps call.
	Aliases() map[string]string
}

// collectAliases returns the aliases of the named providers, such as those
// that listed their apps in this sweep. An alias that is also an app name
// is dropped, because the app of that name wins.
func (e *Engine) collectAliases(providers []string, table map[string]*Handle) map[string]*Handle {
	aliases := map[string]*Handle{}
	for _, name := range providers {
		aliaser, ok := e.opts.Providers[name].(Aliaser)
		if !ok {
			continue
		}
		for alias, target := range aliaser.Aliases() {
			h, ok := table[target]
			if !ok || h.App().Provider != name {
				continue
			}
			if _, isAppName := table[alias]; isAppName {
				continue
			}
			aliases[alias] = h
		}
	}
	return aliases
}
