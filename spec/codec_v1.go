//go:build !goexperiment.jsonv2

package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The generated codec needs encoding/json/jsontext (GOEXPERIMENT=jsonv2, as
// the Makefile builds); without it every spec takes encoding/json's path.
func fastUnmarshal([]byte) (*specs.Spec, []byte, bool) { return nil, nil, false }

func fastMarshal(*specs.Spec, []byte) ([]byte, bool) { return nil, false }

const fastCodec = false
