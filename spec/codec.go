//go:build goexperiment.jsonv2

package spec

import (
	"bytes"
	"encoding/json/jsontext"
	"io"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

//go:generate go run ./internal/codecgen/cmd -o codec_gen.go

// fastUnmarshal decodes a config as Unmarshal does, with the code
// codecgen wrote for the spec's types (codec_gen.go) instead of
// encoding/json's reflection, and returns linux.seccomp as the JSON it
// read (a slice of data). ok is false where it gives up: anything but a plain, valid
// document of members named as the spec names them (a syntax or type
// error, a duplicate member, a name in other case, invalid UTF-8, a
// number out of its field's range, trailing data, another platform's
// members). Unmarshal then decodes with encoding/json, whose result or
// error is the one the config gets.
func fastUnmarshal(data []byte) (s *specs.Spec, seccomp []byte, ok bool) {
	// From a bytes.Buffer the decoder reads data in place, without
	// copying it into buffers of its own as it goes.
	f := fastDecoder{d: jsontext.NewDecoder(bytes.NewBuffer(data))}
	if f.d.PeekKind() != '{' {
		return nil, nil, false
	}
	s = new(specs.Spec)
	if !decSpec(&f, s) {
		return nil, nil, false
	}
	if _, err := f.d.ReadToken(); err != io.EOF {
		return nil, nil, false
	}
	return s, f.seccomp, true
}

// fastDecoder reads the tokens for codec_gen.go. Its methods return false
// where the input is not for it; a JSON null leaves a scalar as it was, as
// encoding/json does.
type fastDecoder struct {
	d       *jsontext.Decoder
	seccomp []byte
}

// null consumes a null, if that comes next.
func (f *fastDecoder) null() bool {
	if f.d.PeekKind() != 'n' {
		return false
	}
	_, err := f.d.ReadToken()
	return err == nil
}

func (f *fastDecoder) begin(kind jsontext.Kind) bool {
	t, err := f.d.ReadToken()
	return err == nil && t.Kind() == kind
}

func (f *fastDecoder) end(kind jsontext.Kind) bool {
	return f.begin(kind)
}

// more tells whether the object or array goes on; at an error it says no,
// and end fails.
func (f *fastDecoder) more() bool {
	k := f.d.PeekKind()
	return k != '}' && k != ']' && k != 0
}

func (f *fastDecoder) key() (string, bool) {
	t, err := f.d.ReadToken()
	if err != nil || t.Kind() != '"' {
		return "", false
	}
	return t.String(), true
}

func (f *fastDecoder) str(p *string) bool {
	t, err := f.d.ReadToken()
	if err != nil {
		return false
	}
	switch t.Kind() {
	case '"':
		*p = t.String()
	case 'n':
	default:
		return false
	}
	return true
}

func (f *fastDecoder) boolean(p *bool) bool {
	t, err := f.d.ReadToken()
	if err != nil {
		return false
	}
	switch t.Kind() {
	case 't', 'f':
		*p = t.Bool()
	case 'n':
	default:
		return false
	}
	return true
}

// number returns the next value's digits, or "" for a null.
func (f *fastDecoder) number() (string, bool) {
	v, err := f.d.ReadValue()
	if err != nil {
		return "", false
	}
	switch v.Kind() {
	case '0':
		return string(v), true
	case 'n':
		return "", true
	}
	return "", false
}

func decInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](f *fastDecoder, p *T, bits int) bool {
	s, ok := f.number()
	if !ok || s == "" {
		return ok
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return false
	}
	*p = T(n)
	return true
}

func decUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64](f *fastDecoder, p *T, bits int) bool {
	s, ok := f.number()
	if !ok || s == "" {
		return ok
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return false
	}
	*p = T(n)
	return true
}

// skip passes over the value of a member that is none of known. A name
// encoding/json would take for one of them (it matches names without
// regard to case) is left to it.
func (f *fastDecoder) skip(name string, known ...string) bool {
	for _, k := range known {
		if strings.EqualFold(withoutDelimiters(name), withoutDelimiters(k)) {
			return false
		}
	}
	return f.d.SkipValue() == nil
}

func withoutDelimiters(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "-", ""), "_", "")
}

// rawSeccomp keeps linux.seccomp as the JSON it is, in the config's
// bytes (Unmarshal copies it into its canonical form).
func (f *fastDecoder) rawSeccomp() bool {
	v, err := f.d.ReadValue()
	if err != nil {
		return false
	}
	f.seccomp = v
	return true
}

// fastMarshal encodes s with the raw profile p as Marshal does, byte for
// byte, with the code codecgen wrote (codec_gen.go). ok is false for a
// spec with members for another platform, left to encoding/json.
func fastMarshal(s *specs.Spec, p []byte) (data []byte, ok bool) {
	e := fastEncoder{b: make([]byte, 0, 4096+len(p)), seccomp: p}
	if !encSpec(&e, s) {
		return nil, false
	}
	return e.b, true
}

// fastEncoder holds the JSON that codec_gen.go writes.
type fastEncoder struct {
	b       []byte
	seccomp []byte
}

func (e *fastEncoder) str(s string) { e.b = AppendString(e.b, s) }

// fastCodec: this build decodes and encodes specs with codec_gen.go.
const fastCodec = true
