package stage

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The config reaches the stage with its filter, which travels beside the
// JSON; a config without one arrives without one; a frame cut short or a
// message of another type is an error, not a config.
func TestConfigFrame(t *testing.T) {
	filter := compiled(t, specs.ActErrno)
	for _, c := range []struct {
		name string
		cfg  *Config
	}{
		{"with a filter", &Config{ID: "a", Spec: &specs.Spec{}, Seccomp: filter}},
		{"without", &Config{ID: "b", Spec: &specs.Spec{}}},
	} {
		var buf bytes.Buffer
		if err := sendConfig(&buf, c.cfg); err != nil {
			t.Fatal(err)
		}
		sent := buf.Bytes()
		got, err := recvConfig(&buf, json.NewDecoder(&buf))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.ID != c.cfg.ID || !reflect.DeepEqual(got.Seccomp, c.cfg.Seccomp) {
			t.Errorf("%s: got id %q and filter %v", c.name, got.ID, got.Seccomp != nil)
		}
		for _, cut := range []int{4, 12, len(sent) - 2} {
			r := bytes.NewReader(sent[:cut])
			if _, err := recvConfig(r, json.NewDecoder(r)); err == nil {
				t.Errorf("%s: %d of %d bytes made a config", c.name, cut, len(sent))
			}
		}
	}
	for _, size := range []string{"00000000", "ffffffff", "-0000001", "0000 001"} {
		var buf bytes.Buffer
		buf.WriteString(size)
		if err := writeMsg(&buf, &syncMsg{Type: msgAck}); err != nil {
			t.Fatal(err)
		}
		if _, err := recvConfig(&buf, json.NewDecoder(&buf)); err == nil {
			t.Errorf("%s and an ack made a config", size)
		}
	}
}
