package controllers

import (
	"context"
	"errors"

	"github.com/liftoff-dev/liftoff/internal/gates"
)

// searchBlockers: placeholder until the GitHub client's issue search lands (milestone branch).
func (s *step) searchBlockers(ctx context.Context, q string) (int, []gates.Blocker, error) {
	return 0, nil, errors.New("issue search not available yet")
}
