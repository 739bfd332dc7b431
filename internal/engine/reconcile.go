package engine

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"
)

// reconcile adds new apps, drops deleted ones and records state changes
// made outside paastis or by other instances, then saves the records that
// changed in one call.
func (e *Engine) reconcile(ctx context.Context, listed map[string][]App, failed map[string]bool) {
	now := e.opts.Now()
	stored := e.storedRecords(ctx)
	var added, removed []*Handle

	e.tableMu.Lock()
	table := maps.Clone(*e.table.Load())
	switch {
	case stored != nil && len(stored) == 0 && len(table) > 0:
		e.registryEmptied()
	case len(stored) > 0:
		e.emptied.Store(false)
	}
	seen := map[string]bool{}
	for _, providerName := range e.providerOrder {
		apps, ok := listed[providerName]
		if !ok {
			continue
		}
		for _, app := range apps {
			app.Provider = providerName
			if seen[app.Name] {
				e.logger.Warn("two apps have the same name; only the first is routed", "app", app.Name, "provider", providerName)
				continue
			}
			seen[app.Name] = true
			managed := !e.opts.Rules(app.Name).Ignored
			rec, recorded := stored[app.Name]
			recorded = recorded && rec.App.Provider == providerName

			h, ok := table[app.Name]
			if !ok || h.App().Provider != providerName {
				if recorded {
					app.Saved = rec.App.Saved
				}
				h = newHandle(app, managed, now, now)
				table[app.Name] = h
				added = append(added, h)
				continue
			}
			app.Saved = h.App().Saved
			if recorded && rec.App.Saved != nil {
				// Another instance may have stopped the app and saved what
				// its next start needs.
				app.Saved = rec.App.Saved
			}
			h.setApp(app)
			h.managed.Store(managed)
			if recorded {
				e.syncState(h, app.State, now, &rec)
			} else {
				e.syncState(h, app.State, now, nil)
			}
		}
	}
	for name, h := range table {
		provider := h.App().Provider
		_, listedOK := listed[provider]
		if !seen[name] && listedOK && !failed[provider] {
			delete(table, name)
			removed = append(removed, h)
		}
	}
	e.table.Store(&table)
	aliases := e.collectAliases(providerNames(listed), table)
	e.aliases.Store(&aliases)
	e.tableMu.Unlock()

	for _, h := range added {
		e.logger.Info("app registered", "app", h.name, "provider", h.App().Provider, "state", h.State(), "managed", h.Managed())
		e.record(ctx, Event{Type: EventRegistered, App: h.name, Provider: h.App().Provider})
	}
	if len(removed) > 0 {
		names := make([]string, len(removed))
		for i, h := range removed {
			names[i] = h.name
			e.logger.Info("app unregistered: its provider no longer lists it", "app", h.name, "provider", h.App().Provider)
			e.record(ctx, Event{Type: EventUnregistered, App: h.name, Provider: h.App().Provider})
		}
		if err := e.opts.Registry.Delete(ctx, names...); err != nil {
			e.outage.failed("delete records", err)
		}
	}

	// Saving only the records that changed keeps the sweep's writes small,
	// and leaves alone the records that other instances write meanwhile.
	// NOTE: a record that another instance writes between storedRecords and
	// this Save is lost when this instance changed the record too. The next
	// sweep corrects the state from the provider, but not the saved data.
	records := make([]Record, 0, len(table))
	for _, h := range table {
		app := h.App()
		app.State = h.State()
		rec := Record{App: app, Managed: h.Managed(), DiscoveredAt: h.discoveredAt, LastAccess: h.LastAccess(), UpdatedAt: now}
		if old, ok := stored[h.name]; ok && sameRecord(old, rec) {
			continue
		}
		records = append(records, rec)
	}
	if err := e.opts.Registry.Save(ctx, records...); err != nil {
		e.outage.failed("save records", err)
	} else {
		e.outage.recovered()
	}
}

// storedRecords returns the registry's records by app name, or nil when
// the registry cannot be read.
func (e *Engine) storedRecords(ctx context.Context) map[string]Record {
	records, err := e.opts.Registry.Records(ctx)
	if err != nil {
		e.outage.failed("read records", err)
		return nil
	}
	e.outage.recovered()
	stored := make(map[string]Record, len(records))
	for _, rec := range records {
		stored[rec.App.Name] = rec
	}
	return stored
}

// sameRecord reports whether two records hold the same data, whatever
// their UpdatedAt and the time zones of their times.
func sameRecord(a, b Record) bool {
	return a.Managed == b.Managed &&
		a.DiscoveredAt.Equal(b.DiscoveredAt) &&
		a.LastAccess.Equal(b.LastAccess) &&
		reflect.DeepEqual(a.App, b.App)
}

// registryEmptied handles a registry that contains no record while this
// instance's table has apps, which happens when Redis restarted without
// persistence or was cleared. The activity flushed before is lost too, so
// every instance must report it again before the sweep stops an app.
func (e *Engine) registryEmptied() {
	e.outage.dataLost()
	if e.emptied.CompareAndSwap(false, true) {
		e.logger.Warn("the registry contains no app: Redis restarted without persistence or was cleared; keeping the known apps and reporting all activity again")
	}
}

// syncState records a state the provider reports, unless a start or stop
// of paastis is in progress for the app, which then decides the state.
// stored is the app's registry record, or nil: when it already shows the
// reported state, another instance made the change.
func (e *Engine) syncState(h *Handle, reported State, now time.Time, stored *Record) {
	if !h.op.TryLock() {
		return
	}
	defer h.op.Unlock()
	current := h.State()
	if reported == current || reported == StateUnknown {
		return
	}
	if stored != nil && stored.App.State == reported {
		if reported == StateRunning {
			h.Touch(stored.LastAccess)
		}
		e.logger.Debug("app state changed by another instance", "app", h.name, "state", reported)
		h.setState(reported)
		return
	}
	if reported == StateRunning && current != StateRunning {
		// Started outside paastis: give it a full idle period from now.
		h.Touch(now)
		e.logger.Info("app started outside paastis", "app", h.name, "provider", h.App().Provider)
	}
	if reported == StateStopped && current == StateRunning {
		e.logger.Info("app stopped outside paastis", "app", h.name, "provider", h.App().Provider)
	}
	h.setState(reported)
}

// refreshFromRegistry updates this instance's table from the registry,
// which the lease holder keeps in sync with the providers. The registry's
// states are trusted as they are, because this instance's providers may
// not see the apps that other instances started.
func (e *Engine) refreshFromRegistry(ctx context.Context) error {
	records, err := e.opts.Registry.Records(ctx)
	if err != nil {
		e.outage.failed("read records", err)
		return fmt.Errorf("refresh from the registry: %w", err)
	}
	e.outage.recovered()

	e.tableMu.Lock()
	defer e.tableMu.Unlock()
	current := *e.table.Load()
	if len(records) == 0 && len(current) > 0 {
		// Keep routing the known apps until the lease holder saves them
		// again.
		e.registryEmptied()
		return nil
	}
	e.emptied.Store(false)

	table := maps.Clone(current)
	seen := map[string]bool{}
	for _, rec := range records {
		if _, ok := e.opts.Providers[rec.App.Provider]; !ok {
			continue
		}
		seen[rec.App.Name] = true
		managed := !e.opts.Rules(rec.App.Name).Ignored
		h, ok := table[rec.App.Name]
		if !ok {
			table[rec.App.Name] = newHandle(rec.App, managed, rec.DiscoveredAt, rec.LastAccess)
			continue
		}
		h.setApp(rec.App)
		h.managed.Store(managed)
		adoptState(h, rec.App.State, rec.LastAccess)
	}
	for name := range table {
		if !seen[name] {
			delete(table, name)
		}
	}
	e.table.Store(&table)

	// NOTE: a provider reports aliases only after it listed its apps, which
	// an instance without the sweep lease does only when a start or stop
	// needs it. Until then, such an instance routes app names only.
	aliases := e.collectAliases(providerNames(e.opts.Providers), table)
	e.aliases.Store(&aliases)
	return nil
}

// adoptState sets the state that the registry records for the app, unless
// a start or stop of this instance is in progress, which then decides.
func adoptState(h *Handle, recorded State, lastAccess time.Time) {
	if !h.op.TryLock() {
		return
	}
	defer h.op.Unlock()
	if recorded == h.State() || recorded == StateUnknown {
		return
	}
	if recorded == StateRunning {
		h.Touch(lastAccess)
	}
	h.setState(recorded)
}

// providerNames returns the keys of a map keyed by provider name.
func providerNames[V any](byProvider map[string]V) []string {
	names := make([]string, 0, len(byProvider))
	for name := range byProvider {
		names = append(names, name)
	}
	return names
}
