package cgroups

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setRdma writes one rdma.max line per device; the file has the same
// syntax on v1 and v2. A limit left out keeps its current value.
func setRdma(d cgroupDir, rdma map[string]specs.LinuxRdma) error {
	for _, dev := range slices.Sorted(maps.Keys(rdma)) {
		line, err := rdmaLine(dev, rdma[dev])
		if err != nil {
			return err
		}
		if err := d.write("rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}

func rdmaLine(dev string, l specs.LinuxRdma) (string, error) {
	if dev == "" || strings.ContainsAny(dev, " \t\n=") {
		return "", fmt.Errorf("cgroups: invalid rdma device name %q", dev)
	}
	if l.HcaHandles == nil && l.HcaObjects == nil {
		return "", fmt.Errorf("cgroups: rdma device %s: set hcaHandles, hcaObjects or both", dev)
	}
	line := dev
	if l.HcaHandles != nil {
		line += fmt.Sprintf(" hca_handle=%d", *l.HcaHandles)
	}
	if l.HcaObjects != nil {
		line += fmt.Sprintf(" hca_object=%d", *l.HcaObjects)
	}
	return line, nil
}
