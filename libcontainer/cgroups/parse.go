package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
)

// readKeys parses a flat-keyed file of "key value" lines such as
// cgroup.events.
func readKeys(path string) (map[string]string, error) {
	content, err := readFile(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for line := range strings.SplitSeq(content, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

// parseUint reads a counter or limit. "max", v2's spelling of unlimited,
// becomes the largest value so that limits compare as they should.
func parseUint(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readUint reads a file holding a single number, such as
// memory.usage_in_bytes or pids.max.
func (d cgroupDir) readUint(name string) (uint64, error) {
	s, err := d.read(name)
	if err != nil {
		return 0, err
	}
	v, err := parseUint(s)
	if err != nil {
		return 0, fmt.Errorf("read %s/%s: %w", d.path, name, err)
	}
	return v, nil
}

// readFlat reads a flat-keyed file of numbers ("key value" lines) such as
// memory.stat, cpu.stat or memory.events.
func (d cgroupDir) readFlat(name string) (map[string]uint64, error) {
	p, err := d.file(name)
	if err != nil {
		return nil, fmt.Errorf("read %w", err)
	}
	keys, err := readKeys(p)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(keys))
	for k, s := range keys {
		v, err := parseUint(s)
		if err != nil {
			return nil, fmt.Errorf("read %s: key %s: %w", p, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// readUints reads a file holding numbers separated by blanks, such as
// cpuacct.usage_percpu.
func (d cgroupDir) readUints(name string) ([]uint64, error) {
	s, err := d.read(name)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for f := range strings.FieldsSeq(s) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", d.path, name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// missing tells an interface file the kernel does not provide (an older
// kernel, a configuration option left out) from a real read error.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}
