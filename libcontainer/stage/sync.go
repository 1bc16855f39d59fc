package stage

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// syncMsg is one line on the socket between husk and its init or exec stage.
// The preamble speaks the first ones (setup, ack, pid, error) from C, so
// they stay flat JSON objects.
type syncMsg struct {
	Type   string       `json:"type"`
	Pid    int          `json:"pid,omitempty"`
	Msg    string       `json:"msg,omitempty"`
	Hook   bool         `json:"hook,omitempty"` // the error is a failed hook's
	State  *specs.State `json:"state,omitempty"`
	Config *Config      `json:"config,omitempty"`
}

const (
	msgSetup  = "setup"  // stage -> husk: place me in the cgroup, write my id maps
	msgAck    = "ack"    // husk -> stage
	msgPid    = "pid"    // stage -> husk: the final process's pid
	msgConfig = "config" // husk -> stage
	msgHooks  = "hooks"  // init -> husk: mounts are done, run prestart/createRuntime
	msgHooked = "hooked" // husk -> init, with the state for createContainer hooks
	msgReady  = "ready"  // init -> husk: waiting for start
	msgError  = "error"  // stage -> husk
	msgWarn   = "warn"   // stage -> husk: a warning for husk's log; the stage goes on
	msgDebug  = "debug"  // stage -> husk: a step, for husk's --debug log
)

// writeMsg writes one message as a line.
func writeMsg(w io.Writer, m *syncMsg) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// sendSettings sends a preamble its settings: their length as 8 hex
// digits, then NUL-terminated KEY=VALUE strings (values may hold newlines).
func sendSettings(w io.Writer, env []string) error {
	var b strings.Builder
	for _, e := range env {
		b.WriteString(e)
		b.WriteByte(0)
	}
	if _, err := fmt.Fprintf(w, "%08x%s", b.Len(), b.String()); err != nil {
		return fmt.Errorf("send settings to the container process: %w", err)
	}
	return nil
}

// HookError marks a failure caused by a hook: a create that fails so ends
// the lifecycle as delete would, poststop hooks included.
type HookError struct{ Err error }

func (e *HookError) Error() string { return e.Err.Error() }
func (e *HookError) Unwrap() error { return e.Err }
