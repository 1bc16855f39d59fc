package stage

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestMsgReader: a stream of the stage's messages reads as encoding/json
// decodes each, the flat ones and those it hands to encoding/json.
func TestMsgReader(t *testing.T) {
	var lines []string
	for _, m := range []*syncMsg{
		{Type: msgSetup},
		{Type: msgPid, Pid: 4242},
		{Type: msgWarn, Msg: "a \"quoted\" \u00e9 <warning>\n"},
		{Type: msgError, Msg: "hook failed", Hook: true},
		{Type: msgHooked, State: &specs.State{ID: "c1", Pid: 7, Annotations: map[string]string{"a": "b"}}},
		{Type: msgConfig, Config: &Config{ID: "c1"}},
	} {
		var buf bytes.Buffer
		if err := writeMsg(&buf, m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, buf.String())
	}
	// As the C preamble writes them, and odd but valid ones.
	lines = append(lines, `{"type":"pid","pid":12}`+"\n", ` { "pid" : 3 , "type" : "pid" } `, `{"type":"ready","type":"error"}`, `{"type":"pid","pid":1.5}`, `{"type":"x","extra":[1,{}]}`, "{\"type\":\"warn\",\"msg\":\"\xff\"}")
	r := newMsgReader(strings.NewReader(strings.Join(lines, "")))
	for _, l := range lines {
		var want syncMsg
		wantErr := json.Unmarshal([]byte(l), &want)
		var got syncMsg
		err := r.read(&got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: read: %v, encoding/json: %v", l, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %+v, encoding/json %+v", l, got, want)
		}
	}
	if err := r.read(new(syncMsg)); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
}
