//go:build !goexperiment.jsonv2

package seccomp

// listenerFields needs encoding/json/jsontext (GOEXPERIMENT=jsonv2, as the
// Makefile builds); without it Listener decodes with encoding/json.
func (p Profile) listenerFields() (path, meta string, ok bool) { return "", "", false }
