//go:build !goexperiment.jsonv2

package stage

import (
	"encoding/json"
	"io"
)

// msgReader reads the messages a stage sends husk (see the jsonv2 build's).
type msgReader struct{ d *json.Decoder }

func newMsgReader(r io.Reader) *msgReader { return &msgReader{json.NewDecoder(r)} }

func (r *msgReader) read(m *syncMsg) error { return r.d.Decode(m) }
