package seccomp

import (
	"runtime"
	"slices"
	"testing"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

func TestActions(t *testing.T) {
	got := Actions()
	for _, want := range []string{"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %q", want, got)
		}
	}
	// What the API level promises, the list must hold, and nothing else.
	level, _ := libseccomp.GetAPI()
	for name, api := range map[string]uint{"SCMP_ACT_KILL_PROCESS": 3, "SCMP_ACT_LOG": 3, "SCMP_ACT_NOTIFY": 5} {
		if slices.Contains(got, name) != (level >= api) {
			t.Errorf("%s listed: %v, with libseccomp API level %d", name, slices.Contains(got, name), level)
		}
	}
}

func TestOperators(t *testing.T) {
	want := []string{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
	if got := Operators(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestArchs(t *testing.T) {
	got := Archs()
	native := map[string]string{"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "386": "SCMP_ARCH_X86"}[runtime.GOARCH]
	if native != "" && !slices.Contains(got, native) {
		t.Errorf("native %s missing from %q", native, got)
	}
	major, minor, _ := libseccomp.GetLibraryVersion()
	if major == 2 && minor < 6 && slices.Contains(got, "SCMP_ARCH_LOONGARCH64") {
		t.Errorf("libseccomp %d.%d has no LoongArch, but Archs lists it", major, minor)
	}
	got[0] = "changed"
	if Archs()[0] == "changed" {
		t.Error("Archs returns its cached slice")
	}
}

func TestFlags(t *testing.T) {
	if got, want := KnownFlags(), []string{
		"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	}; !slices.Equal(got, want) {
		t.Errorf("KnownFlags = %q, want %q", got, want)
	}
	got := Flags()
	for _, f := range got {
		if !slices.Contains(KnownFlags(), f) {
			t.Errorf("supported flag %s is not a known flag", f)
		}
	}
	// Every kernel with the seccomp() syscall has TSYNC.
	if !slices.Contains(got, "SECCOMP_FILTER_FLAG_TSYNC") {
		t.Errorf("TSYNC missing from %q", got)
	}
	t.Logf("supported here: %q", got)
}
