package controllers

import (
	"context"

	"github.com/liftoff-dev/liftoff/internal/gates"
)

// searchBlockers runs the stage's blocker search (one request; the first 100
// matches are named, the total is counted).
func (s *step) searchBlockers(ctx context.Context, q string) (int, []gates.Blocker, error) {
	total, items, err := s.gh.SearchIssues(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	out := make([]gates.Blocker, 0, len(items))
	for _, it := range items {
		out = append(out, gates.Blocker{Number: it.Number, Title: it.Title, URL: it.URL})
	}
	return total, out, nil
}
