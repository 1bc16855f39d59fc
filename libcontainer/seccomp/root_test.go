package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

// Without no_new_privs and CAP_SYS_ADMIN the kernel refuses the filter;
// the error says what is missing.
func TestKernelNeedsNoNewPrivs(t *testing.T) {
	testutil.RequireRoot(t)
	c := runChild(t, "no-nnp", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}, "")
	if c.state.ExitCode() != 3 || !strings.Contains(c.stdout, "no_new_privs or CAP_SYS_ADMIN") {
		t.Fatalf("want Load to fail naming no_new_privs: %s", c)
	}
}
