package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// setUnified writes linux.resources.unified, whose keys checkV2 has
// checked, key by key, after the converted fields so that it has the last
// word. Keys are sorted to make the order of writes, and so the outcome,
// the same on every run.
func setUnified(d cgroupDir, unified map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(unified)) {
		// Interface files parse one record per write, so a value of
		// several lines (io.max for two devices) is written line by line.
		for line := range strings.SplitSeq(unified[key], "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := d.write(key, line); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return unifiedMissing(d, key, err)
				}
				return fmt.Errorf("unified %s: %w", key, err)
			}
		}
	}
	return nil
}

// checkUnifiedKey accepts plain file names only: a key is a file in the
// container's cgroup directory, never a path out of it.
func checkUnifiedKey(key string) error {
	if key == "" || key == "." || key == ".." || strings.ContainsRune(key, '/') {
		return fmt.Errorf("cgroups: invalid unified key %q: want an interface file name such as memory.high", key)
	}
	return nil
}

// unifiedMissing explains a key whose file does not exist: usually its
// controller is not available in the container's cgroup, which the spec
// requires to be an error.
func unifiedMissing(d cgroupDir, key string, err error) error {
	controller, _, _ := strings.Cut(key, ".")
	available, rerr := readFile(filepath.Join(d.path, "cgroup.controllers"))
	if rerr == nil && controller != "cgroup" && !slices.Contains(strings.Fields(available), controller) {
		if available == "" {
			available = "none"
		}
		return fmt.Errorf("unified %s: the %s controller is not available in %s (available: %s)", key, controller, d.path, available)
	}
	return fmt.Errorf("unified %s: no such interface file: %w", key, err)
}
