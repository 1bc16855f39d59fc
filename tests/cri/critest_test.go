package cri

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// critest (cri-tools' CRI validation suite) against our containerd, with
// each handler in $CRITEST_HANDLERS (default: husk). Its images are mapped
// to the local ones (--test-images-file); the specs in critest-skip.txt are
// skipped, each for the reason given there. With more than one handler, a
// spec that fails with husk and passes with runc fails the test.

type specResult struct {
	name  string
	state string // passed, failed, skipped, pending...
	why   string // the message of a failure or of critest's own Skip
}

func critestHandlers() []string {
	if h := strings.Fields(os.Getenv("CRITEST_HANDLERS")); len(h) > 0 {
		return h
	}
	return []string{"husk"}
}

// skipList reads critest-skip.txt (or another list file of the same form):
// "<regexp> # <reason>" per line.
func skipList(t *testing.T, file string) []string {
	b, err := os.ReadFile(filepath.Join(moduleDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var res []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		re, reason, ok := strings.Cut(line, " # ")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("%s:%d: want `<regexp> # <reason>`, got %q", file, i+1, line)
		}
		re = strings.TrimSpace(re)
		if _, err := regexp.Compile(re); err != nil {
			t.Fatalf("%s:%d: %v", file, i+1, err)
		}
		res = append(res, re)
	}
	return res
}

func TestCritest(t *testing.T) {
	requireSuite(t)
	if os.Getenv("CRITEST") == "0" {
		t.Skip("CRITEST=0")
	}
	skips := skipList(t, "critest-skip.txt")
	var known []*regexp.Regexp
	for _, k := range skipList(t, "critest-known-failures.txt") {
		known = append(known, regexp.MustCompile(k))
	}
	isKnown := func(name string) bool {
		for _, re := range known {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}
	images := writeFile(t, "critest-images.yaml", fmt.Sprintf("defaultTestContainerImage: %s\nwebServerTestImage: %s\n", busyboxImage, webImage))
	results := map[string]map[string]string{} // handler -> spec -> state
	for _, h := range critestHandlers() {
		report := filepath.Join(workDir, "critest-"+h+".json")
		args := []string{
			"-runtime-endpoint", "unix://" + ctd.sock,
			"-image-endpoint", "unix://" + ctd.sock,
			"-runtime-handler", h,
			"-test-images-file", images,
			"-ginkgo.no-color",
			"-ginkgo.timeout", "30m",
			"-ginkgo.json-report", report,
		}
		if len(skips) > 0 {
			args = append(args, "-ginkgo.skip", strings.Join(skips, "|"))
		}
		if f := os.Getenv("CRITEST_FOCUS"); f != "" {
			args = append(args, "-ginkgo.focus", f)
		}
		start := time.Now()
		cmd := exec.Command(critestBin, args...)
		cmd.Dir = workDir
		out, err := cmd.CombinedOutput()
		took := time.Since(start).Round(time.Second)
		logPath := filepath.Join(os.TempDir(), "husk-critest-"+h+".log")
		os.WriteFile(logPath, out, 0o644)
		specs, rerr := readReport(report)
		if rerr != nil {
			t.Fatalf("critest (%s): %v (%v); output in %s:\n%s", h, rerr, err, logPath, clientkit.Tail(string(out), 60))
		}
		counts := map[string]int{}
		results[h] = map[string]string{}
		var failed []string
		for _, s := range specs {
			if s.state == "skipped" && s.why != "" {
				// Skipped by critest itself (our skip list has no message).
				t.Logf("  skipped by critest: %s: %s", s.name, strings.SplitN(s.why, "\n", 2)[0])
			}
			counts[s.state]++
			results[h][s.name] = s.state
			if s.state != "passed" && s.state != "skipped" {
				failed = append(failed, s.name)
			}
		}
		sort.Strings(failed)
		t.Logf("critest %s with handler %s: %d passed, %d failed, %d skipped (%d by critest-skip.txt) in %s; log %s",
			criToolsVersion, h, counts["passed"], len(failed), counts["skipped"], len(skips), took, logPath)
		unexpected := 0
		for _, f := range failed {
			if isKnown(f) {
				t.Logf("  KNOWN FAILURE (%s): %s", results[h][f], f)
				continue
			}
			unexpected++
			t.Logf("  %s: %s", results[h][f], f)
		}
		for name, st := range results[h] {
			if st == "passed" && isKnown(name) {
				t.Logf("  passes now, drop it from critest-known-failures.txt: %s", name)
			}
		}
		if h == "husk" && unexpected > 0 {
			t.Errorf("critest with husk: %d specs failed (output: %s)", unexpected, logPath)
		}
	}
	if hr, rr := results["husk"], results["runc"]; hr != nil && rr != nil {
		for name, st := range hr {
			if st != "passed" && st != "skipped" && rr[name] == "passed" {
				t.Errorf("fails with husk, passes with runc: %s", name)
			}
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(workDir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readReport reads ginkgo's JSON report: spec name (container texts and
// leaf text) and state, setup nodes left out.
func readReport(path string) ([]specResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var suites []struct {
		SpecReports []struct {
			ContainerHierarchyTexts []string
			LeafNodeText            string
			LeafNodeType            string
			State                   string
			Failure                 struct{ Message string }
		}
	}
	if err := json.Unmarshal(b, &suites); err != nil {
		return nil, err
	}
	var out []specResult
	for _, s := range suites {
		for _, r := range s.SpecReports {
			if r.LeafNodeType != "It" {
				if r.State != "passed" {
					out = append(out, specResult{name: r.LeafNodeType, state: r.State})
				}
				continue
			}
			out = append(out, specResult{name: strings.Join(append(r.ContainerHierarchyTexts, r.LeafNodeText), " "),
				state: r.State, why: r.Failure.Message})
		}
	}
	return out, nil
}
