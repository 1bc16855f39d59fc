//go:build goexperiment.jsonv2

package seccomp

import (
	"bytes"
	"encoding/json/jsontext"
	"strings"
)

// listenerFields reads listenerPath and listenerMetadata off the profile's
// top level token by token: decoding them into a struct with encoding/json
// would be a create's first use of a struct type there, 0.3-0.5 ms on the
// machines husk is benchmarked on. ok is false where encoding/json must
// decide (a member named in other case, a value not a string, broken JSON).
func (p Profile) listenerFields() (path, meta string, ok bool) {
	d := jsontext.NewDecoder(bytes.NewReader(p))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return "", "", false
	}
	for d.PeekKind() == '"' {
		k, err := d.ReadToken()
		if err != nil {
			return "", "", false
		}
		name := k.String() // before the next read voids k
		var into *string
		switch {
		case name == "listenerPath":
			into = &path
		case name == "listenerMetadata":
			into = &meta
		case strings.EqualFold(name, "listenerPath") || strings.EqualFold(name, "listenerMetadata"):
			return "", "", false
		default:
			if d.SkipValue() != nil {
				return "", "", false
			}
			continue
		}
		t, err := d.ReadToken()
		if err != nil || (t.Kind() != '"' && t.Kind() != 'n') {
			return "", "", false
		}
		if t.Kind() == '"' {
			*into = t.String()
		}
	}
	t, err := d.ReadToken()
	return path, meta, err == nil && t.Kind() == '}'
}
