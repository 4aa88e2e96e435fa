package updater

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// expected is the tree an edit must produce: a copy of the input's documents
// with the planned changes applied. Splicing bytes by line and column is
// only as right as the position arithmetic, and a wrong splice would be
// committed to a GitOps repository and deployed; so every edit is parsed
// back and compared with this copy before it is returned.
type expected struct {
	docs   []*yaml.Node
	copies map[*yaml.Node]*yaml.Node // input node -> its copy
	// loose marks the copies whose value is set: their style may change
	// (1.10 becomes "1.10"), and they must read as strings.
	loose map[*yaml.Node]bool
	// kept holds comments of removed nodes that stay in the file.
	kept []string
}

func expect(src *source) *expected {
	e := &expected{copies: map[*yaml.Node]*yaml.Node{}, loose: map[*yaml.Node]bool{}}
	for _, d := range src.docs {
		e.docs = append(e.docs, e.copy(d))
	}
	return e
}

func (e *expected) copy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = nil
	for _, child := range n.Content {
		c.Content = append(c.Content, e.copy(child))
	}
	e.copies[n] = &c
	return &c
}

// set records that the input scalar n will hold value.
func (e *expected) set(n *yaml.Node, value string) {
	c := e.copies[n]
	c.Value = value
	e.loose[c] = true
}

// add records a "key: value" pair appended to the input mapping m.
func (e *expected) add(m *yaml.Node, key, value string) {
	c := e.copies[m]
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	c.Content = append(c.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	e.loose[v] = true
}

// remove records that the pair at index i of the input mapping m goes away
// with its line; comments above or below it stay in the file.
func (e *expected) remove(m *yaml.Node, i int) {
	c := e.copies[m]
	for _, n := range c.Content[i : i+2] {
		e.kept = append(e.kept, n.HeadComment, n.FootComment)
	}
	c.Content = slices.Delete(c.Content, i, i+2)
}

// check parses out and compares it with the expected tree.
func (e *expected) check(out []byte) error {
	fail := func(why string) error {
		return &InvalidError{Msg: fmt.Sprintf("Liftoff could not edit this file without changing more than the value (%s); the file was left as it was. Please report the file to the Liftoff maintainers, and edit it by hand meanwhile", why)}
	}
	got, err := parse(out)
	if err != nil {
		return fail("the result would not parse: " + err.Error())
	}
	if len(got.docs) != len(e.docs) {
		return fail(fmt.Sprintf("%d documents would become %d", len(e.docs), len(got.docs)))
	}
	want, have := e.kept, []string(nil)
	for i := range e.docs {
		if why := e.compare(e.docs[i], got.docs[i], nil); why != "" {
			return fail(fmt.Sprintf("document %d: %s", i+1, why))
		}
		want = comments(e.docs[i], want)
		have = comments(got.docs[i], have)
	}
	want, have = commentLines(want), commentLines(have)
	if !slices.Equal(want, have) {
		return fail("comments would change")
	}
	return nil
}

// compare returns why got differs from want, or "".
func (e *expected) compare(want, got *yaml.Node, at []Segment) string {
	where := formatPath(at)
	if where == "" {
		where = "the top level"
	}
	switch {
	case want.Kind != got.Kind:
		return fmt.Sprintf("the kind at %s would change", where)
	case want.Value != got.Value:
		return fmt.Sprintf("the value at %s would read %q instead of %q", where, got.Value, want.Value)
	case want.Anchor != got.Anchor:
		return fmt.Sprintf("the anchor at %s would change", where)
	case len(want.Content) != len(got.Content):
		return fmt.Sprintf("the number of items at %s would change", where)
	case e.loose[want] && want.Style&yaml.TaggedStyle == 0 && got.ShortTag() != "!!str":
		return fmt.Sprintf("the value at %s would read as %s, not a string", where, got.ShortTag())
	case !e.loose[want] && (want.Tag != got.Tag || want.Style != got.Style):
		return fmt.Sprintf("the tag or style at %s would change", where)
	}
	for i := range want.Content {
		next := at
		switch want.Kind {
		case yaml.MappingNode:
			next = append(at, Segment{Key: want.Content[i-i%2].Value})
		case yaml.SequenceNode:
			next = append(at, Segment{Index: i, IsIndex: true})
		}
		if why := e.compare(want.Content[i], got.Content[i], next); why != "" {
			return why
		}
	}
	return ""
}

// comments appends the comments of n and its descendants to list.
func comments(n *yaml.Node, list []string) []string {
	list = append(list, n.HeadComment, n.LineComment, n.FootComment)
	for _, c := range n.Content {
		list = comments(c, list)
	}
	return list
}

// commentLines splits comments into sorted, trimmed lines. yaml.v3 may
// attach a comment to a different node after an edit (to the value rather
// than the key once "key:" has a value), so only the lines are compared.
func commentLines(list []string) []string {
	var lines []string
	for _, c := range list {
		for _, l := range strings.Split(c, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	return lines
}
