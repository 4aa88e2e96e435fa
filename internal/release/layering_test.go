package release_test

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The package's files read top to bottom, in the order its documentation
// lists them (engine.go, "# Files"): a function, a step's method or a table
// is used only in its own file and in the files listed above it. The check
// reads the files as Go syntax: a name of the package's that a file does
// not declare is another file's, and s.name, for s a *step, is a step's
// method.
func TestFilesReadTopToBottom(t *testing.T) {
	files := parseFiles(t)
	order := documentedOrder(t, files["engine.go"])
	funcs, methods := map[string]string{}, map[string]string{}
	for name, f := range files {
		if _, ok := order[name]; !ok {
			t.Errorf("%s is not in the package documentation's list of files (engine.go, # Files)", name)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					funcs[d.Name.Name] = name
				} else if isStep(d.Recv.List[0].Type) {
					methods[d.Name.Name] = name
				}
			case *ast.GenDecl:
				if d.Tok == gotoken.VAR {
					for _, sp := range d.Specs {
						for _, n := range sp.(*ast.ValueSpec).Names {
							funcs[n.Name] = name
						}
					}
				}
			}
		}
	}
	for name, f := range files {
		used := func(what, in string) {
			if in != name && order[in] < order[name] {
				t.Errorf("%s uses %s of %s, which is above it: move %s down, or its user up", name, what, in, what)
			}
		}
		local := declaredIn(f)
		for _, d := range f.Decls {
			steps := stepsOf(d)
			var visit func(n ast.Node) bool
			visit = func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if in, ok := methods[n.Sel.Name]; ok && isStepValue(n.X, steps) {
						used("step."+n.Sel.Name, in)
					}
					// n.Sel is a field or a method, not a name of the package's.
					ast.Inspect(n.X, visit)
					return false
				case *ast.Ident:
					if in, ok := funcs[n.Name]; ok && !local[n.Name] {
						used(n.Name, in)
					}
				}
				return true
			}
			ast.Inspect(d, visit)
		}
	}
}

// parseFiles parses the package's files, tests aside, by name.
func parseFiles(t *testing.T) map[string]*ast.File {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	files := map[string]*ast.File{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = f
	}
	return files
}

// documentedOrder reads the files' order from the "# Files" section of the
// package documentation.
func documentedOrder(t *testing.T, f *ast.File) map[string]int {
	doc := f.Doc.Text()
	at := strings.Index(doc, "# Files")
	if at < 0 {
		t.Fatal("engine.go's package documentation has no # Files section")
	}
	order := map[string]int{}
	for _, name := range regexp.MustCompile(`\b[a-z]+\.go\b`).FindAllString(doc[at:], -1) {
		if _, ok := order[name]; !ok {
			order[name] = len(order)
		}
	}
	return order
}

// declaredIn are the names f declares, at any level: its own functions and
// methods, variables, parameters and those of :=, which a use in f may
// mean instead of another file's.
func declaredIn(f *ast.File) map[string]bool {
	names := map[string]bool{}
	add := func(ids ...*ast.Ident) {
		for _, id := range ids {
			names[id.Name] = true
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			add(n.Name)
		case *ast.ValueSpec:
			add(n.Names...)
		case *ast.Field:
			add(n.Names...)
		case *ast.AssignStmt:
			if n.Tok == gotoken.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == gotoken.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		}
		return true
	})
	return names
}

// stepsOf are the names of the *step values in declaration d: its
// receiver, its parameters, and the variables made as &step{...}.
func stepsOf(d ast.Decl) map[string]bool {
	names := map[string]bool{}
	ast.Inspect(d, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if isStep(n.Type) {
				for _, id := range n.Names {
					names[id.Name] = true
				}
			}
		case *ast.AssignStmt:
			for k, r := range n.Rhs {
				if u, ok := r.(*ast.UnaryExpr); ok && k < len(n.Lhs) {
					if c, ok := u.X.(*ast.CompositeLit); ok && isIdent(c.Type, "step") {
						if id, ok := n.Lhs[k].(*ast.Ident); ok {
							names[id.Name] = true
						}
					}
				}
			}
		}
		return true
	})
	return names
}

// isStepValue: e is one of the *step values steps names, or (*step), as in
// the method expression (*step).evaluate.
func isStepValue(e ast.Expr, steps map[string]bool) bool {
	if p, ok := e.(*ast.ParenExpr); ok {
		return isStep(p.X)
	}
	id, ok := e.(*ast.Ident)
	return ok && steps[id.Name]
}

// isStep: the type is *step.
func isStep(e ast.Expr) bool {
	st, ok := e.(*ast.StarExpr)
	return ok && isIdent(st.X, "step")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
