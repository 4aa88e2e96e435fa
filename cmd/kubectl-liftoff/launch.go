package main

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// renderLaunch is a launch as a tree: its phase, stage and holder, then one
// line per member with its phase in each stage, the holder marked.
func (cl *cli) renderLaunch(ctx context.Context, name string) (string, error) {
	l := &releasev1.Launch{}
	if err := cl.c.Get(ctx, cl.key(name), l); err != nil {
		return "", err
	}
	return launchTree(l), nil
}

// holderMark marks the member that holds the launch.
const holderMark = " ◀ holds"

func launchTree(l *releasev1.Launch) string {
	var b strings.Builder
	st := &l.Status
	fmt.Fprintf(&b, "Name:       %s\n", l.Name)
	fmt.Fprintf(&b, "Namespace:  %s\n", l.Namespace)
	fmt.Fprintf(&b, "Phase:      %s %s\n", symbol(string(st.Phase)), st.Phase)
	fmt.Fprintf(&b, "Stage:      %s\n", st.CurrentStage)
	if st.Holder != "" {
		fmt.Fprintf(&b, "Holder:     %s\n", st.Holder)
	}
	// Columns: the member, then each stage.
	first := len("MEMBER")
	for _, m := range st.Members {
		first = max(first, utf8.RuneCountInString(memberLabel(m))+3)
	}
	width := map[string]int{}
	for _, s := range st.Stages {
		width[s] = len(s)
		for _, m := range st.Members {
			width[s] = max(width[s], utf8.RuneCountInString(cell(m, s)))
		}
	}
	header := pad("MEMBER", first+1)
	for _, s := range st.Stages {
		header += "  " + pad(s, width[s])
	}
	b.WriteString("\n" + strings.TrimRight(header, " ") + "\n")
	for i, m := range st.Members {
		line := branch(i == len(st.Members)-1) + " " + pad(memberLabel(m), first-2)
		for _, s := range st.Stages {
			line += "  " + pad(cell(m, s), width[s])
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// memberLabel is "web 2.0.0", marked when it holds the launch, or "web
// (missing)" when no Release has the name.
func memberLabel(m releasev1.LaunchMember) string {
	label := m.Name + " " + m.Version
	if m.Version == "" && m.Phase == "" {
		label = m.Name + " (missing)"
	}
	if m.Holder {
		label += holderMark
	}
	return label
}

// cell is the member's phase in stage, "-" when its pipeline has none.
func cell(m releasev1.LaunchMember, stage string) string {
	for _, s := range m.Stages {
		if s.Name == stage {
			return symbol(string(s.Phase)) + " " + string(s.Phase)
		}
	}
	return "-"
}
