package clientkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GoTool is the go command: from PATH, or where .ci/run installs it (sudo
// resets PATH).
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// BuildHusk builds husk from repoRoot to out as `make husk` does (its
// tags, static link, version from VERSION or else version), so that a
// suite run without RUNTIME tests the tree it sits in.
func BuildHusk(repoRoot, out, version string) error {
	if b, err := os.ReadFile(filepath.Join(repoRoot, "VERSION")); err == nil {
		version = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, GoTool(), "build", "-trimpath",
		"-tags", "urfave_cli_no_docs netgo osusergo",
		"-ldflags", "-X main.version="+version+" -linkmode external -extldflags -static",
		"-o", out, ".")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOEXPERIMENT=jsonv2")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building husk in %s: %v\n%s", repoRoot, err, b)
	}
	return nil
}
