package stage

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
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

// sendConfig sends a stage its config: first the seccomp filter in its
// binary form, after its length in 8 hex digits (0 for none), then the
// rest as a message. A compiled profile is some 10 KB of program; as
// base64 in the JSON it cost husk and the stage a copy and a scan each,
// with the buffers they grow, where a fresh page is dear.
func sendConfig(w io.Writer, cfg *Config) error {
	frame := []byte("00000000")
	if cfg.Seccomp != nil {
		frame, _ = cfg.Seccomp.AppendBinary(frame)
		copy(frame, fmt.Sprintf("%08x", len(frame)-8)) // at most 4096 instructions
	}
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("send config to the container process: %w", err)
	}
	return writeMsg(w, &syncMsg{Type: msgConfig, Config: cfg})
}

// recvConfig reads what sendConfig sent. r must not have been read through
// a buffer yet: the filter is read from it directly, then the message
// through dec.
func recvConfig(r io.Reader, dec *json.Decoder) (*Config, error) {
	var size [8]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, fmt.Errorf("wait for the config from husk: %w", err)
	}
	// A filter is at most 4096 instructions of 8 bytes, and its header.
	n, err := strconv.ParseUint(string(size[:]), 16, 32)
	if err != nil || n > 64<<10 {
		return nil, fmt.Errorf("husk sent %q, expected the seccomp filter's size", size[:])
	}
	var filter *seccomp.Filter
	if n > 0 {
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("read the seccomp filter from husk: %w", err)
		}
		filter = new(seccomp.Filter)
		if err := filter.UnmarshalBinary(data); err != nil {
			return nil, err
		}
	}
	var m syncMsg
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("wait for %s from husk: %w", msgConfig, err)
	}
	if m.Type != msgConfig || m.Config == nil {
		return nil, fmt.Errorf("husk sent %q, expected %q", m.Type, msgConfig)
	}
	m.Config.Seccomp = filter
	return m.Config, nil
}

// sendSettings sends a preamble its settings: their length as 8 hex
// digits, then NUL-terminated KEY=VALUE strings (values may hold newlines);
// then the seccomp program the settings name, if any, as it is.
func sendSettings(w io.Writer, env []string, program []byte) error {
	// One buffer of the right size: each doubling of a buffer is fresh
	// pages to fault in.
	n := 0
	for _, e := range env {
		n += len(e) + 1
	}
	b := make([]byte, 0, 8+n)
	b = fmt.Appendf(b, "%08x", n)
	for _, e := range env {
		b = append(append(b, e...), 0)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("send settings to the container process: %w", err)
	}
	if len(program) > 0 {
		if _, err := w.Write(program); err != nil {
			return fmt.Errorf("send the seccomp program to the container process: %w", err)
		}
	}
	return nil
}

// HookError marks a failure caused by a hook: a create that fails so ends
// the lifecycle as delete would, poststop hooks included.
type HookError struct{ Err error }

func (e *HookError) Error() string { return e.Err.Error() }
func (e *HookError) Unwrap() error { return e.Err }
