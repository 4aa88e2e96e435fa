package githubsim

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// The simulator stores real git objects, addressed by their real SHA-1, so
// SHAs, trees and ancestry behave as on GitHub.

type blob struct{ data []byte }

type treeEntry struct {
	name, mode, typ, sha string
}

type tree struct{ entries []treeEntry }

type signature struct {
	Name, Email string
	Date        time.Time
}

type commit struct {
	tree      string
	parents   []string
	message   string
	author    signature
	committer signature
}

func hashObject(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (r *repo) putBlob(data []byte) string {
	sha := hashObject("blob", data)
	r.objects[sha] = &blob{data: append([]byte(nil), data...)}
	return sha
}

func (r *repo) putTree(t *tree) string {
	sort.Slice(t.entries, func(i, j int) bool { return sortName(t.entries[i]) < sortName(t.entries[j]) })
	var b bytes.Buffer
	for _, e := range t.entries {
		raw, _ := hex.DecodeString(e.sha)
		fmt.Fprintf(&b, "%s %s\x00", strings.TrimPrefix(e.mode, "0"), e.name)
		b.Write(raw)
	}
	sha := hashObject("tree", b.Bytes())
	r.objects[sha] = t
	return sha
}

// sortName is git's tree order: directories sort as if named "name/".
func sortName(e treeEntry) string {
	if e.typ == "tree" {
		return e.name + "/"
	}
	return e.name
}

func (r *repo) putCommit(c *commit) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", c.tree)
	for _, p := range c.parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s <%s> %d +0000\n", c.author.Name, c.author.Email, c.author.Date.Unix())
	fmt.Fprintf(&b, "committer %s <%s> %d +0000\n\n%s", c.committer.Name, c.committer.Email, c.committer.Date.Unix(), c.message)
	sha := hashObject("commit", b.Bytes())
	r.objects[sha] = c
	return sha
}

// files flattens a tree into path -> blob SHA.
func (r *repo) files(treeSHA string) map[string]string {
	out := map[string]string{}
	var walk func(sha, prefix string)
	walk = func(sha, prefix string) {
		t, ok := r.objects[sha].(*tree)
		if !ok {
			return
		}
		for _, e := range t.entries {
			p := path.Join(prefix, e.name)
			if e.typ == "tree" {
				walk(e.sha, p)
			} else {
				out[p] = e.sha
			}
		}
	}
	walk(treeSHA, "")
	return out
}

// writeTree builds nested trees from path -> blob SHA and returns the root.
func (r *repo) writeTree(files map[string]string) string {
	type dir struct {
		blobs map[string]string
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{blobs: map[string]string{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, sha := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			if d.dirs[part] == nil {
				d.dirs[part] = newDir()
			}
			d = d.dirs[part]
		}
		d.blobs[parts[len(parts)-1]] = sha
	}
	var write func(d *dir) string
	write = func(d *dir) string {
		t := &tree{}
		for name, sha := range d.blobs {
			t.entries = append(t.entries, treeEntry{name: name, mode: "100644", typ: "blob", sha: sha})
		}
		for name, sub := range d.dirs {
			t.entries = append(t.entries, treeEntry{name: name, mode: "040000", typ: "tree", sha: write(sub)})
		}
		return r.putTree(t)
	}
	return write(root)
}

func (r *repo) commitAt(sha string) (*commit, bool) {
	c, ok := r.objects[sha].(*commit)
	return c, ok
}

// resolve turns a branch, tag, "refs/..." or (full or short) SHA into a commit SHA.
func (r *repo) resolve(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "refs/")
	for _, candidate := range []string{ref, "heads/" + ref, "tags/" + ref} {
		if sha, ok := r.refs[candidate]; ok {
			return sha, true
		}
	}
	if _, ok := r.commitAt(ref); ok {
		return ref, true
	}
	if len(ref) >= 7 {
		for sha, o := range r.objects {
			if _, ok := o.(*commit); ok && strings.HasPrefix(sha, ref) {
				return sha, true
			}
		}
	}
	return "", false
}

// history lists the commits reachable from sha, newest first (by committer
// date, then discovery order), as `git log` does.
func (r *repo) history(sha string) []string {
	seen := map[string]bool{}
	var order []string
	queue := []string{sha}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		c, ok := r.commitAt(cur)
		if !ok {
			continue
		}
		seen[cur] = true
		order = append(order, cur)
		queue = append(queue, c.parents...)
	}
	pos := map[string]int{}
	for i, s := range order {
		pos[s] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		ci, _ := r.commitAt(order[i])
		cj, _ := r.commitAt(order[j])
		if !ci.committer.Date.Equal(cj.committer.Date) {
			return ci.committer.Date.After(cj.committer.Date)
		}
		return pos[order[i]] < pos[order[j]]
	})
	return order
}

// isAncestor reports whether a is reachable from b (or equal).
func (r *repo) isAncestor(a, b string) bool {
	for _, s := range r.history(b) {
		if s == a {
			return true
		}
	}
	return false
}

// mergeBase returns the newest common ancestor of a and b.
func (r *repo) mergeBase(a, b string) string {
	inA := map[string]bool{}
	for _, s := range r.history(a) {
		inA[s] = true
	}
	for _, s := range r.history(b) {
		if inA[s] {
			return s
		}
	}
	return ""
}

// changedFiles lists the paths that differ between a commit and its first
// parent. Commits never change, so the answer is kept: listing a long
// history would otherwise diff two whole trees per commit.
func (r *repo) changedFiles(sha string) []string {
	if out, ok := r.changed[sha]; ok {
		return out
	}
	if _, ok := r.commitAt(sha); !ok {
		return nil
	}
	out := r.diffParent(sha)
	if r.changed == nil {
		r.changed = map[string][]string{}
	}
	r.changed[sha] = out
	return out
}

func (r *repo) diffParent(sha string) []string {
	c, ok := r.commitAt(sha)
	if !ok {
		return nil
	}
	before := map[string]string{}
	if len(c.parents) > 0 {
		if p, ok := r.commitAt(c.parents[0]); ok {
			before = r.files(p.tree)
		}
	}
	return diffFiles(before, r.files(c.tree))
}

// diffFiles lists the paths whose blob differs between two flattened trees
// (added, removed or changed), sorted.
func diffFiles(before, after map[string]string) []string {
	var out []string
	for p, s := range after {
		if before[p] != s {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// merge3 merges the trees of ours and theirs against their merge base, file
// by file. It fails when a file changed on both sides differently.
func (r *repo) merge3(ours, theirs string) (string, error) {
	base := r.mergeBase(ours, theirs)
	filesOf := func(sha string) map[string]string {
		if c, ok := r.commitAt(sha); ok {
			return r.files(c.tree)
		}
		return map[string]string{}
	}
	o, t, b := filesOf(ours), filesOf(theirs), filesOf(base)
	out := map[string]string{}
	paths := map[string]bool{}
	for _, m := range []map[string]string{o, t, b} {
		for p := range m {
			paths[p] = true
		}
	}
	for p := range paths {
		ov, tv, bv := o[p], t[p], b[p]
		var v string
		switch {
		case ov == tv:
			v = ov
		case tv == bv:
			v = ov
		case ov == bv:
			v = tv
		default:
			return "", fmt.Errorf("conflict in %s", p)
		}
		if v != "" {
			out[p] = v
		}
	}
	return r.writeTree(out), nil
}
