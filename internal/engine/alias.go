package engine

// Aliaser is implemented by providers whose apps answer to more than one
// routing label, such as Clever Cloud, where an app is reached by the slug
// of its name and also by its id ("app-<uuid>").
type Aliaser interface {
	// Aliases returns alias label -> app name, as of the latest Apps call.
	Aliases() map[string]string
}

// collectAliases returns the aliases of every provider that listed its apps
// in this sweep. An alias that is also an app name is dropped, because the
// app of that name wins.
func (e *Engine) collectAliases(listed map[string][]App, table map[string]*Handle) map[string]*Handle {
	aliases := map[string]*Handle{}
	for name, provider := range e.opts.Providers {
		aliaser, ok := provider.(Aliaser)
		if !ok {
			continue
		}
		if _, ok := listed[name]; !ok {
			continue
		}
		for alias, target := range aliaser.Aliases() {
			h, ok := table[target]
			if !ok || h.App().Provider != name {
				continue
			}
			if _, taken := table[alias]; taken {
				continue
			}
			aliases[alias] = h
		}
	}
	return aliases
}
