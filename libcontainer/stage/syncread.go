//go:build goexperiment.jsonv2

package stage

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	"io"
	"strconv"
)

// msgReader reads the messages a stage sends husk. They are flat objects
// (type, pid, msg, hook), which it takes apart token by token: decoding
// them into a syncMsg with encoding/json would be its first use of a
// struct type in a create, 0.3-0.5 ms of a `run` on the machines husk is
// benchmarked on, since the spec and the state have codecs of their own.
// A message with anything else goes to encoding/json.
type msgReader struct{ d *jsontext.Decoder }

// newMsgReader reads messages from r. What encoding/json takes in a
// message (a duplicate member, invalid UTF-8) it lets through to it.
func newMsgReader(r io.Reader) *msgReader {
	return &msgReader{jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))}
}

func (r *msgReader) read(m *syncMsg) error {
	v, err := r.d.ReadValue()
	if err != nil {
		return err
	}
	if flatMsg(v, m) {
		return nil
	}
	*m = syncMsg{}
	return json.Unmarshal(v, m)
}

// flatMsg decodes v into m, if v has only the members it knows, of their
// types.
func flatMsg(v jsontext.Value, m *syncMsg) bool {
	d := jsontext.NewDecoder(bytes.NewReader(v))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return false
	}
	for d.PeekKind() == '"' {
		k, err := d.ReadToken()
		if err != nil {
			return false
		}
		name := k.String() // before the next read voids k
		t, err := d.ReadToken()
		if err != nil {
			return false
		}
		switch {
		case name == "type" && t.Kind() == '"':
			m.Type = t.String()
		case name == "msg" && t.Kind() == '"':
			m.Msg = t.String()
		case name == "hook" && (t.Kind() == 't' || t.Kind() == 'f'):
			m.Hook = t.Bool()
		case name == "pid" && t.Kind() == '0':
			n, err := strconv.Atoi(t.String())
			if err != nil {
				return false
			}
			m.Pid = n
		default:
			return false
		}
	}
	t, err := d.ReadToken()
	return err == nil && t.Kind() == '}'
}
