package scalingo

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// maxChildAppPages bounds the pages read from the child_apps endpoint for
// one parent.
const maxChildAppPages = 10

// reviewAppName matches review app names of the form "<parent>-pr<number>",
// as in the API reference's example (example-app-pr238), and captures the
// parent.
var reviewAppName = regexp.MustCompile(`^(.+)-pr[0-9]+$`)

// parentFinder caches, between sweeps, the child apps that the child_apps
// endpoint returned for each parent.
type parentFinder struct {
	// mu guards entries.
	mu      sync.Mutex
	entries map[parentKey]*reviewAppsEntry
}

type parentKey struct{ region, parent string }

type reviewAppsEntry struct {
	// children are the child apps that the endpoint returned.
	children map[string]bool
	// checked are the candidate names that the last read covered, so that
	// only a new candidate causes another read.
	checked map[string]bool
}

// findParents returns the parent of each child app of a region listing,
// by Scalingo app name.
//
// The app objects of child apps carry parent_app_name, and when any app of
// the listing has it, the listing is trusted and no request is made.
// Otherwise each app named "<parent>-pr<number>", whose parent is in the
// listing, is checked against the child_apps endpoint of that parent. The
// result is cached, so the endpoint is read again only when a new
// candidate appears. On failure findParents returns the parents it found
// and the errors.
//
// NOTE: in a listing without parent_app_name, a child app named otherwise
// gets no parent.
func (p *Provider) findParents(ctx context.Context, r region, apps []appJSON) (map[string]string, error) {
	parents := map[string]string{}
	names := map[string]bool{}
	for _, a := range apps {
		names[a.Name] = true
		if a.ParentAppName != "" {
			parents[a.Name] = a.ParentAppName
		}
	}
	if len(parents) > 0 {
		p.parents.prune(r.name, nil)
		return parents, nil
	}

	candidates := map[string][]string{}
	for _, a := range apps {
		match := reviewAppName.FindStringSubmatch(a.Name)
		if match != nil && names[match[1]] {
			candidates[match[1]] = append(candidates[match[1]], a.Name)
		}
	}
	p.parents.prune(r.name, candidates)

	var problems []error
	for _, parent := range sortedKeys(candidates) {
		children, err := p.childApps(ctx, r, parent, candidates[parent])
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, candidate := range candidates[parent] {
			if children[candidate] {
				parents[candidate] = parent
			}
		}
	}
	return parents, errors.Join(problems...)
}

// childApps returns the names of a parent's child apps, from the cache
// when it covers every candidate.
func (p *Provider) childApps(ctx context.Context, r region, parent string, candidates []string) (map[string]bool, error) {
	key := parentKey{r.name, parent}
	p.parents.mu.Lock()
	entry := p.parents.entries[key]
	p.parents.mu.Unlock()
	if entry != nil && coversAll(entry.checked, candidates) {
		return entry.children, nil
	}

	ref := appRef{label: parent, name: parent, region: r}
	children := map[string]bool{}
	for page := 1; page <= maxChildAppPages; page++ {
		var body struct {
			ChildApps []appJSON `json:"child_apps"`
			Meta      struct {
				Pagination struct {
					NextPage *int `json:"next_page"`
				} `json:"pagination"`
			} `json:"meta"`
		}
		_, err := p.client.do(ctx, call{
			operation:  "list_child_apps",
			method:     http.MethodGet,
			url:        ref.appURL("/child_apps?page=" + strconv.Itoa(page)),
			idempotent: true,
		}, &body)
		if err != nil {
			return nil, ref.wrap("list the child apps of", err)
		}
		for _, child := range body.ChildApps {
			children[child.Name] = true
		}
		next := body.Meta.Pagination.NextPage
		if next == nil || *next <= page {
			break
		}
	}

	checked := map[string]bool{}
	for _, name := range candidates {
		checked[name] = true
	}
	for name := range children {
		checked[name] = true
	}
	p.parents.mu.Lock()
	p.parents.entries[key] = &reviewAppsEntry{children: children, checked: checked}
	p.parents.mu.Unlock()
	return children, nil
}

// prune drops the cache entries of a region's parents that no longer have
// candidates, so that the cache does not grow with deleted apps.
func (f *parentFinder) prune(regionName string, candidates map[string][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for key := range f.entries {
		if _, ok := candidates[key.parent]; key.region == regionName && !ok {
			delete(f.entries, key)
		}
	}
}

func coversAll(set map[string]bool, names []string) bool {
	for _, name := range names {
		if !set[name] {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
