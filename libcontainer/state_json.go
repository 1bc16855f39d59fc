package libcontainer

import (
	"slices"
	"strconv"

	hspec "github.com/husk-runtime/husk/spec"
)

// encode is json.Marshal(s), byte for byte (TestStateEncode), written out:
// a create writes the state five times, and on the machines husk is
// benchmarked on encoding/json's first use of a struct type in a process
// costs 0.3-0.5 ms of a `run`, which a create otherwise no longer pays
// (the spec has its own generated codec, spec.Marshal). Config is JSON
// that spec.Marshal wrote or encoding/json read already: it goes in as it
// is, not checked again nor copied, as the second of the three pieces the
// state is returned in (most of it, with an engine's seccomp profile).
func (s *State) encode() ([][]byte, error) {
	created, err := s.Created.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 512)
	b = append(b, '{')
	if s.Version != 0 {
		b = strconv.AppendInt(append(b, `"version":`...), int64(s.Version), 10)
		b = append(b, ',')
	}
	b = hspec.AppendString(append(b, `"id":`...), s.ID)
	b = hspec.AppendString(append(b, `,"bundle":`...), s.Bundle)
	b = hspec.AppendString(append(b, `,"rootfs":`...), s.Rootfs)
	b = append(append(b, `,"created":`...), created...)
	b = hspec.AppendString(append(b, `,"owner":`...), s.Owner)
	b = strconv.AppendInt(append(b, `,"pid":`...), int64(s.Pid), 10)
	b = strconv.AppendUint(append(b, `,"pid_start":`...), s.PidStart, 10)
	b = appendPaths(append(b, `,"cgroup_paths":`...), s.CgroupPaths)
	if s.SystemdUnit != "" {
		b = hspec.AppendString(append(b, `,"systemd_unit":`...), s.SystemdUnit)
	}
	b = appendTrue(b, `,"systemd_user":true`, s.SystemdUser)
	b = appendTrue(b, `,"shared_rootfs":true`, s.SharedRootfs)
	if s.RootfsMountID != 0 {
		b = strconv.AppendUint(append(b, `,"rootfs_mount_id":`...), s.RootfsMountID, 10)
	}
	b = appendTrue(b, `,"creating":true`, s.Creating)
	if s.Creator != 0 {
		b = strconv.AppendInt(append(b, `,"creator":`...), int64(s.Creator), 10)
	}
	if s.CreatorStart != 0 {
		b = strconv.AppendUint(append(b, `,"creator_start":`...), s.CreatorStart, 10)
	}
	b = appendTrue(b, `,"shared_cgroup":true`, s.SharedCgroup)
	b = append(b, `,"spec":`...)
	if s.Config == nil {
		return [][]byte{append(b, "null}"...)}, nil
	}
	return [][]byte{b, s.Config, []byte("}")}, nil
}

func appendTrue(b []byte, member string, v bool) []byte {
	if v {
		return append(b, member...)
	}
	return b
}

// appendPaths appends m as encoding/json does a map: its keys sorted.
func appendPaths(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(hspec.AppendString(b, k), ':')
		b = hspec.AppendString(b, m[k])
	}
	return append(b, '}')
}
