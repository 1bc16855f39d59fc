package seccomp

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Profile is linux.seccomp as JSON, as config.json and the saved spec
// hold it. A create or an exec needs only the filter compiled from it,
// which the cache finds by these bytes (CompileCached): decoding and
// checking podman's profile cost a create more than finding its filter
// does, so a profile is decoded only when the cache has no filter for it.
// nil is no profile.
type Profile []byte

// NewProfile encodes s, for callers that hold the profile decoded.
func NewProfile(s *specs.LinuxSeccomp) (Profile, error) {
	if s == nil {
		return nil, nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	return data, nil
}

// Decode decodes the profile and checks it (Validate).
func (p Profile) Decode() (*specs.LinuxSeccomp, error) {
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(p, &s); err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}
