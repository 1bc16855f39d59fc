//go:build goexperiment.jsonv2

package seccomp

import (
	"encoding/json"
	"testing"
)

// TestListenerFields: where listenerFields reads a profile, it reads what
// encoding/json decodes; where encoding/json must decide, it says so.
func TestListenerFields(t *testing.T) {
	for p, fast := range map[string]bool{
		`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/a.sock","listenerMetadata":"m\u00e9\"","syscalls":[{"names":["read"]}]}`: true,
		`{"listenerMetadata":"m"}`:                          true,
		`{"listenerPath":null,"syscalls":null}`:             true,
		`{"architectures":["SCMP_ARCH_X86_64"],"flags":[]}`: true,
		`{"ListenerPath":"/run/a.sock"}`:                    false,
		`{"listenerpath":"/run/a.sock"}`:                    false,
		`{"listenerPath":7}`:                                false,
		`{"listenerPath":"a","listenerPath":"b"}`:           false,
		`[]`:                  false,
		`{"listenerPath":"a"`: false,
	} {
		var want struct {
			ListenerPath     string `json:"listenerPath"`
			ListenerMetadata string `json:"listenerMetadata"`
		}
		jsonErr := json.Unmarshal([]byte(p), &want)
		path, meta, ok := Profile(p).listenerFields()
		if ok != fast {
			t.Errorf("%s: read by listenerFields: %v, want %v", p, ok, fast)
		}
		if ok && (jsonErr != nil || path != want.ListenerPath || meta != want.ListenerMetadata) {
			t.Errorf("%s: listenerFields %q %q, encoding/json %q %q (%v)", p, path, meta, want.ListenerPath, want.ListenerMetadata, jsonErr)
		}
		l, err := Profile(p).Listener()
		if (err != nil) != (jsonErr != nil) {
			t.Errorf("%s: Listener: %v, encoding/json: %v", p, err, jsonErr)
		}
		if err == nil && (want.ListenerPath != "" || want.ListenerMetadata != "") &&
			(l == nil || l.ListenerPath != want.ListenerPath || l.ListenerMetadata != want.ListenerMetadata) {
			t.Errorf("%s: Listener %+v", p, l)
		}
	}
}
