package scalingo

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// savedFormationKey is the key of the formation in the data that Stop
// returns and Start reads back, such as {"formation": "web:2,worker:1"}.
const savedFormationKey = "formation"

// defaultFormation is the formation that Start scales to when Stop
// recorded nothing.
var defaultFormation = []processType{{Name: "web", Amount: 1}}

// processType is one entry of a formation, as the containers and scale
// endpoints read and write it.
type processType struct {
	Name   string `json:"name"`
	Amount int    `json:"amount"`
	Size   string `json:"size,omitempty"`
}

// formatFormation writes the process types with containers, sorted by
// name: "web:2,worker:1".
func formatFormation(formation []processType) string {
	var items []string
	for _, p := range formation {
		if p.Amount > 0 {
			items = append(items, p.Name+":"+strconv.Itoa(p.Amount))
		}
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

// parseFormation reads what formatFormation wrote.
func parseFormation(text string) ([]processType, error) {
	var formation []processType
	for item := range strings.SplitSeq(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, amountText, found := strings.Cut(item, ":")
		amount, err := strconv.Atoi(amountText)
		if !found || name == "" || err != nil || amount < 0 {
			return nil, fmt.Errorf("invalid formation item %q: expected name:amount, such as web:2", item)
		}
		formation = append(formation, processType{Name: name, Amount: amount})
	}
	if len(formation) == 0 {
		return nil, fmt.Errorf("empty formation %q", text)
	}
	return formation, nil
}

// listFormation returns the app's process types and their amounts.
func (p *Provider) listFormation(ctx context.Context, ref appRef) ([]processType, error) {
	var body struct {
		Containers []processType `json:"containers"`
	}
	_, err := p.client.do(ctx, call{
		operation:  "list_containers",
		method:     http.MethodGet,
		url:        ref.appURL("/containers"),
		idempotent: true,
	}, &body)
	if err != nil {
		return nil, ref.wrap("read the formation of", err)
	}
	return body.Containers, nil
}
