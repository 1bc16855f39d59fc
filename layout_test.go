package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/husk-runtime/husk"

// layers orders husk's packages: each may import only packages of a lower
// layer (docs/design.md draws the same picture).
var layers = map[string]int{
	"spec/vocab":                   0,
	"spec/internal/codecgen":       0,
	"spec/internal/codecgen/cmd":   1,
	"libcontainer/nsenter":         0,
	"hooks":                        1,
	"libcontainer/cgroups":         1,
	"libcontainer/lsm":             1,
	"libcontainer/procattr":        1,
	"libcontainer/seccomp":         1,
	"libcontainer/cgroups/systemd": 2,
	"libcontainer/rootfs":          2,
	"spec":                         3,
	"libcontainer/stage":           4,
	"libcontainer":                 5,
	".":                            6,
}

// pkgFiles parses the non-test Go files of each of husk's packages, by
// directory relative to the module root.
func pkgFiles(t *testing.T) map[string][]*ast.File {
	t.Helper()
	pkgs := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// tests/ and internal/testutil serve the tests; contrib/ holds tools.
		if d.IsDir() && (path == "tests" || path == "contrib" || path == "internal" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		pkgs[dir] = append(pkgs[dir], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func imports(files []*ast.File) []string {
	var out []string
	for _, f := range files {
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestLayering(t *testing.T) {
	pkgs := pkgFiles(t)
	for dir, files := range pkgs {
		layer, ok := layers[dir]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers and to docs/design.md", dir)
			continue
		}
		for _, imp := range imports(files) {
			rel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if l, ok := layers[rel]; !ok || l >= layer {
				t.Errorf("%s (layer %d) imports %s (layer %d)", dir, layer, rel, l)
			}
		}
	}
	// The rootfs code runs in every init: it must not pull in libseccomp.
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		for _, imp := range imports(pkgs[dir]) {
			if strings.Contains(imp, "libseccomp") {
				t.Errorf("libcontainer/rootfs depends on %s (through %s)", imp, dir)
			}
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				walk(rel)
			}
		}
	}
	walk("libcontainer/rootfs")
}

// allowedVars are the package-level variables outside main, each a value
// no code changes after package initialisation, with the reason.
const (
	table = "a read-only lookup table"
	probe = "a sync.OnceValue memo of what the running kernel supports"
)

var allowedVars = map[string]string{
	"libcontainer/procattr.ioprioClasses":      table,
	"libcontainer/procattr.mempolicyModes":     table,
	"libcontainer/procattr.mempolicyFlags":     table,
	"libcontainer/procattr.personalityDomains": table,
	"libcontainer/procattr.schedPolicies":      table,
	"libcontainer/procattr.schedFlags":         table,
	"libcontainer/seccomp.auditArch":           table,
	"libcontainer/seccomp.actionNames":         table,
	"libcontainer/seccomp.operatorNames":       table,
	"libcontainer/seccomp.archNames":           table,
	"libcontainer/seccomp.flagNames":           table,
	"libcontainer/lsm.appArmorExecAttrs":       table,
	"libcontainer/lsm.selinuxExecAttrs":        table,
	"libcontainer/rootfs.defaultDevices":       table,
	"libcontainer/rootfs.devLinks":             table,
	"libcontainer/rootfs.statfsToMount":        table,
	"libcontainer/rootfs.procOvermountable":    table,
	"spec/vocab.capabilityNames":               table,
	"spec/vocab.mountOptionTable":              table,
	"spec/vocab.rlimitNames":                   table,
	"libcontainer/cgroups/systemd.reserved":    table,
	"libcontainer/cgroups/systemd.timeUnits":   table,
	"libcontainer/seccomp.archProbe":           probe,
	"libcontainer/seccomp.supportedFlags":      probe,
}

// TestNoPackageState: settings and state go through values passed down
// (libcontainer.Runtime, stage.Opts), never through package variables,
// which every caller in the process would share. Sentinel errors are
// allowed.
func TestNoPackageState(t *testing.T) {
	for dir, files := range pkgFiles(t) {
		if dir == "." {
			continue
		}
		for _, f := range files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.VAR {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if name.Name == "_" || (i < len(vs.Values) && isSentinel(vs.Values[i])) {
							continue
						}
						key := dir + "." + name.Name
						if _, ok := allowedVars[key]; !ok {
							t.Errorf("package-level variable %s: pass it down instead, or allow it in allowedVars with the reason", key)
						}
					}
				}
			}
		}
	}
}

// isSentinel tells an errors.New(...) value.
func isSentinel(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "errors" && sel.Sel.Name == "New"
}

// TestDocsCiteRealTests: every test the docs name as evidence exists
// (`TestFoo`, `pkg.TestFoo`, or a `TestFoo*` prefix).
func TestDocsCiteRealTests(t *testing.T) {
	var tests []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				tests = append(tests, fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob("docs/*.md")
	cite := regexp.MustCompile("`(?:[a-z]+\\.)?(Test[A-Za-z0-9_]*)(\\*?)`")
	for _, doc := range append(docs, "README.md") {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cite.FindAllStringSubmatch(string(data), -1) {
			found := slices.ContainsFunc(tests, func(name string) bool {
				return name == m[1] || (m[2] == "*" && strings.HasPrefix(name, m[1]))
			})
			if !found {
				t.Errorf("%s cites %s%s, which no test defines", doc, m[1], m[2])
			}
		}
	}
}
