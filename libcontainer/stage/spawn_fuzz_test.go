package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// syncLines are sync-socket messages as stages send them, one per line.
func syncLines(f *testing.F, msgs ...*syncMsg) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		b.Write(append(data, '\n'))
	}
	return b.Bytes()
}

// FuzzStageMessages decodes what a stage writes on the sync socket the
// way husk does: the handshake of configure (setup, then pid), the init's
// messages until ready (AwaitReady), and any message stream (next). A stage
// runs in the container's namespaces, so none of this may panic, an error
// message must come back as an error, and a pid husk accepts must be one
// it can signal and wait for.
func FuzzStageMessages(f *testing.F) {
	f.Add(syncLines(f, &syncMsg{Type: msgSetup}, &syncMsg{Type: msgPid, Pid: 4242}, &syncMsg{Type: msgHooks}, &syncMsg{Type: msgReady}))
	f.Add(syncLines(f, &syncMsg{Type: msgPid, Pid: 4242}, &syncMsg{Type: msgReady}))
	f.Add(syncLines(f, &syncMsg{Type: msgPid, Pid: 1}, &syncMsg{Type: msgError, Msg: "mount proc on /proc: permission denied"}))
	f.Add(syncLines(f, &syncMsg{Type: msgHooks}, &syncMsg{Type: msgError, Msg: "hook failed", Hook: true}))
	f.Add(syncLines(f, &syncMsg{Type: msgPid, Pid: 7, State: &specs.State{ID: "c1", Pid: 7}}, &syncMsg{Type: msgConfig, Config: &Config{ID: "c1"}}))
	for _, seed := range []string{"", "\n", "{", `{"type":"pid","pid":0}`, `{"type":"pid","pid":-1}`, `{"type":"error"}`, `{"type":7}`, "null\nnull\n", `{"type":"ready"} trailing`} {
		f.Add([]byte(seed))
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		newStage := func() *Stage {
			return &Stage{opts: &Opts{}, sock: devNull, dec: newMsgReader(bytes.NewReader(data))}
		}

		st := newStage()
		for i := 0; i < 64; i++ {
			m, err := st.next()
			if err != nil {
				var he *HookError
				if err != io.EOF && err.Error() == "" && !errors.As(err, &he) {
					t.Fatal("an error without a message")
				}
				break
			}
			if m == nil || m.Type == msgError {
				t.Fatalf("next returned %+v without an error", m)
			}
			if m.Type == msgPid && m.Pid <= 0 {
				t.Fatalf("next accepted pid %d", m.Pid)
			}
		}

		st = newStage()
		if m, err := st.expect(msgPid); err == nil && (m.Type != msgPid || m.Pid <= 0) {
			t.Fatalf("expect(pid) returned %+v", m)
		}

		hooks := func() (*specs.State, error) { return &specs.State{ID: "c1", Pid: 4242}, nil }
		if err := newStage().AwaitReady(hooks); err == nil && !bytes.Contains(data, []byte(msgReady)) {
			t.Fatalf("AwaitReady finished without a ready message in %q", data)
		}
	})
}
