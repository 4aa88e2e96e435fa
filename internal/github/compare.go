package github

import (
	"context"
	"regexp"
	"sync"

	gh "github.com/google/go-github/v60/github"
)

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Contains reports whether head contains base: base is head, or one of its
// ancestors (GitHub's comparison of base...head is identical or ahead). A
// GitOps agent on a later commit of the branch than Liftoff's promotion
// commit has deployed it too.
//
// Commits never change, so the answer for two full SHAs is kept in memory
// per client, a NotFound (a commit the repository does not have) too:
// asking again costs no request. Other refs (branches, tags) are asked each
// time, conditionally (ETag).
func (c *Client) Contains(ctx context.Context, repo, base, head string) (bool, error) {
	if base == head {
		return true, nil
	}
	key := repo + "|" + base + "|" + head
	immutable := fullSHA.MatchString(base) && fullSHA.MatchString(head)
	if immutable {
		if v, ok := c.compared.get(key); ok {
			return v.contains, v.err
		}
	}
	op := "compare " + ShortSHA(base) + "..." + ShortSHA(head)
	if err := c.guard(op); err != nil {
		return false, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return false, err
	}
	// One commit per page: only the status is needed, not the commit list.
	cmp, _, err := c.gh.Repositories.CompareCommits(ctx, owner, name, base, head, &gh.ListOptions{PerPage: 1})
	if err != nil {
		err = c.done(op, err)
		if immutable && IsNotFound(err) {
			c.compared.put(key, compared{err: err})
		}
		return false, err
	}
	var contains bool
	switch cmp.GetStatus() {
	case "identical", "ahead":
		contains = true
	case "behind", "diverged":
		contains = false
	default:
		return false, errorf(KindTransient, op, "unexpected comparison status %q", cmp.GetStatus())
	}
	if immutable {
		c.compared.put(key, compared{contains: contains})
	}
	return contains, nil
}

// maxCompared bounds the comparisons kept per client.
const maxCompared = 4096

// containsMemo keeps comparison answers of immutable commits; its zero value
// is ready. When full it starts over: a dropped answer costs one request.
type containsMemo struct {
	mu sync.Mutex
	m  map[string]compared
}

type compared struct {
	contains bool
	err      error
}

func (m *containsMemo) get(key string) (compared, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

func (m *containsMemo) put(key string, v compared) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxCompared {
		m.m = map[string]compared{}
	}
	m.m[key] = v
}
