package scalingotest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// process is one process type of a formation, as in the containers
// endpoint.
type process struct {
	Name   string
	Amount int
	Size   string
}

// parseFormation reads "web:2,worker:1". It is written apart from the
// provider's parser on purpose, so that a change of format on either side
// shows up in tests.
func parseFormation(text string) ([]process, error) {
	var formation []process
	for item := range strings.SplitSeq(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, amountText, ok := strings.Cut(item, ":")
		amount, err := strconv.Atoi(amountText)
		if !ok || name == "" || err != nil || amount < 0 {
			return nil, fmt.Errorf("invalid formation item %q: use name:amount, such as web:2", item)
		}
		if slices.ContainsFunc(formation, func(p process) bool { return p.Name == name }) {
			return nil, fmt.Errorf("process type %q appears twice in the formation", name)
		}
		formation = append(formation, process{Name: name, Amount: amount, Size: "M"})
	}
	return formation, nil
}

// formatFormation writes every process type, zero amounts included,
// sorted by name: "web:0,worker:0".
func formatFormation(formation []process) string {
	sorted := slices.Clone(formation)
	slices.SortFunc(sorted, func(a, b process) int { return strings.Compare(a.Name, b.Name) })
	items := make([]string, 0, len(sorted))
	for _, p := range sorted {
		items = append(items, p.Name+":"+strconv.Itoa(p.Amount))
	}
	return strings.Join(items, ",")
}

func amountOf(formation []process, name string) int {
	for _, p := range formation {
		if p.Name == name {
			return p.Amount
		}
	}
	return 0
}

func totalAmount(formation []process) int {
	total := 0
	for _, p := range formation {
		total += p.Amount
	}
	return total
}

func itoa(n int) string { return strconv.Itoa(n) }
