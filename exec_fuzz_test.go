package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/spec"
)

// FuzzExecProcess reads `exec --process FILE` as the exec command does,
// with its own flag definitions. A process it accepts must have a command,
// keep the container's AppArmor profile and SELinux label when it names
// none (leaving them out must not be a way out of the confinement), leave
// the container's saved process alone, and survive the JSON trip to the
// exec stage.
func FuzzExecProcess(f *testing.F) {
	base := spec.Default(false).Process
	base.ApparmorProfile = "husk-default"
	base.SelinuxLabel = "system_u:system_r:container_t:s0"
	if data, err := json.Marshal(base); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		`{"args": ["sh"], "cwd": "/"}`,
		`{"args": ["/bin/id"], "cwd": "/tmp", "env": ["A=b"], "user": {"uid": 1000, "gid": 1000, "additionalGids": [5], "umask": 18}}`,
		`{"args": ["true"], "apparmorProfile": "other", "selinuxLabel": "system_u:system_r:spc_t:s0", "noNewPrivileges": true}`,
		`{"args": ["true"], "terminal": true, "consoleSize": {"height": 24, "width": 80}, "capabilities": {"bounding": ["CAP_KILL"]}}`,
		`{"args": ["true"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "oomScoreAdj": 100}`,
		`{"args": ["true"], "scheduler": {"policy": "SCHED_FIFO", "priority": 1}, "ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 0}}`,
		`{"args": ["true"], "execCPUAffinity": {"initial": "0-3,7", "final": "1"}}`,
		`{"args": []}`, `{}`, `null`, `[]`, `{"args": "sh"}`, `{"args": ["sh"]`, "",
	} {
		f.Add([]byte(seed))
	}
	baseJSON, err := json.Marshal(base)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "process.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		set := flag.NewFlagSet("exec", flag.ContinueOnError)
		for _, fl := range execCommand.Flags {
			if err := fl.Apply(set); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.Parse([]string{"--process", path, "c1"}); err != nil {
			t.Fatal(err)
		}
		ctx := cli.NewContext(newApp(), set, nil)
		p, _, err := execSpec(ctx, base)
		if after, _ := json.Marshal(base); !bytes.Equal(after, baseJSON) {
			t.Fatalf("exec changed the container's process:\n%s\n%s", baseJSON, after)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "exec: ") {
				t.Fatalf("error %q does not say it is exec's", err)
			}
			return
		}
		if len(p.Args) == 0 {
			t.Fatal("accepted a process without args")
		}
		if p.ApparmorProfile == "" || p.SelinuxLabel == "" {
			t.Fatalf("the process lost the container's confinement: %q %q", p.ApparmorProfile, p.SelinuxLabel)
		}
		_ = spec.ValidateProcess(p, nil)
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("an accepted process does not marshal: %v", err)
		}
		var back specs.Process
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("an accepted process does not decode: %v", err)
		}
		if again, _ := json.Marshal(&back); !bytes.Equal(out, again) {
			t.Fatalf("the process changed on its way to the stage:\n%s\n%s", out, again)
		}
	})
}
