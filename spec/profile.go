package spec

import (
	"bytes"
	"encoding/json"
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// withProfile is a spec's JSON with linux.seccomp left as JSON: the
// profile is most of an engine's config, and a create needs only the
// filter cached for it (seccomp.Profile). The outer fields hide the
// embedded ones of the same name.
type withProfile struct {
	*specs.Spec
	Linux *linuxWithProfile `json:"linux,omitempty"`
}

type linuxWithProfile struct {
	*specs.Linux
	Seccomp json.RawMessage `json:"seccomp,omitempty"`
}

// Unmarshal decodes a spec but its linux.seccomp, which it returns as
// JSON in the form that Marshal keeps, so that the profile has the same
// bytes (and the same cache entry) after a trip through state.json. The
// spec's own Linux.Seccomp is nil. A plain config takes the generated
// decoder (fastUnmarshal); anything it leaves, encoding/json.
func Unmarshal(data []byte) (*specs.Spec, seccomp.Profile, error) {
	s, raw, ok := fastUnmarshal(data)
	if !ok {
		var err error
		if s, raw, err = reflectUnmarshal(data); err != nil {
			return nil, nil, err
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return s, nil, nil
	}
	return s, canonicalProfile(raw), nil
}

// canonicalProfile is the valid JSON data in the form json.Marshal gives a
// raw value, which Marshal keeps: without whitespace between tokens, the
// characters HTML gives a meaning and the line and paragraph separators
// escaped in strings, all else as it is. Through encoding/json it was a
// create's first use of its machinery, which costs more than the work
// (docs/design.md). An engine writes config.json with Go's json.Marshal
// (podman, containerd), in that form already: data itself is returned then,
// not a copy, which saved a create a few page faults.
func canonicalProfile(data []byte) []byte {
	i, inString := firstNonCanonical(data)
	if i == len(data) {
		return data
	}
	out := append(make([]byte, 0, len(data)+16), data[:i]...)
	escaped := false
	for ; i < len(data); i++ {
		c := data[i]
		if !inString {
			switch c {
			case ' ', '\t', '\n', '\r':
				continue
			case '"':
				inString = true
			}
			out = append(out, c)
			continue
		}
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case c == '<':
			out = append(out, `\u003c`...)
			continue
		case c == '>':
			out = append(out, `\u003e`...)
			continue
		case c == '&':
			out = append(out, `\u0026`...)
			continue
		case isLineSeparator(data, i):
			out = append(out, `\u202`...)
			out = append(out, "89"[data[i+2]-0xa8])
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

// firstNonCanonical is where the first byte that canonicalProfile changes
// is in data (len(data) if none), and whether it is in a string. A
// backslash's escape is never such a byte in valid JSON.
func firstNonCanonical(data []byte) (int, bool) {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i, false
		case c == '"':
			inString = !inString
		case !inString:
		case c == '\\':
			i++
		case c == '<' || c == '>' || c == '&' || isLineSeparator(data, i):
			return i, true
		}
	}
	return len(data), false
}

// isLineSeparator: U+2028 or U+2029 in UTF-8 at data[i].
func isLineSeparator(data []byte, i int) bool {
	return data[i] == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9)
}

// reflectUnmarshal is Unmarshal by encoding/json, with linux.seccomp as
// the JSON it read.
func reflectUnmarshal(data []byte) (*specs.Spec, []byte, error) {
	var w withProfile
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, nil, err
	}
	s := w.Spec
	if s == nil {
		s = &specs.Spec{}
	}
	if w.Linux == nil {
		return s, nil, nil
	}
	s.Linux = w.Linux.Linux
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s, w.Linux.Seccomp, nil
}

// Marshal encodes s with p as its linux.seccomp (SplitProfile takes a Go
// caller's decoded one out of s first), with the generated encoder
// (fastMarshal) where it can, else encoding/json; both give the same
// bytes.
func Marshal(s *specs.Spec, p seccomp.Profile) ([]byte, error) {
	s, p, err := SplitProfile(s, p)
	if err != nil {
		return nil, err
	}
	if data, ok := fastMarshal(s, p); ok {
		return data, nil
	}
	return reflectMarshal(s, p)
}

// reflectMarshal is Marshal by encoding/json.
func reflectMarshal(s *specs.Spec, p seccomp.Profile) ([]byte, error) {
	w := withProfile{Spec: s}
	if s.Linux != nil || p != nil {
		linux := s.Linux
		if linux == nil {
			linux = &specs.Linux{}
		}
		w.Linux = &linuxWithProfile{Linux: linux, Seccomp: json.RawMessage(p)}
	}
	return json.Marshal(w)
}

// SplitProfile returns s without linux.seccomp and the profile as JSON:
// husk carries a profile as JSON beside the spec (Unmarshal), where a Go
// caller may have set it decoded in the spec.
func SplitProfile(s *specs.Spec, p seccomp.Profile) (*specs.Spec, seccomp.Profile, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return s, p, nil
	}
	if p != nil {
		return nil, nil, errors.New("linux.seccomp is given twice: in the spec and as a profile")
	}
	p, err := seccomp.NewProfile(s.Linux.Seccomp)
	if err != nil {
		return nil, nil, err
	}
	c, l := *s, *s.Linux
	l.Seccomp = nil
	c.Linux = &l
	return &c, p, nil
}
