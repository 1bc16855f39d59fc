package cgroups

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkIOV2 refuses what v2 cannot express, before anything is written:
// the io controller has no leaf weights.
func checkIOV2(io *specs.LinuxBlockIO) error {
	if isSet(io.LeafWeight) {
		return errors.New("cgroups: blockIO.leafWeight has no cgroup v2 equivalent")
	}
	for _, wd := range io.WeightDevice {
		if wd.LeafWeight != nil {
			return fmt.Errorf("cgroups: blockIO.weightDevice %d:%d: leafWeight has no cgroup v2 equivalent", wd.Major, wd.Minor)
		}
	}
	return nil
}

// setIOV2 writes weights and io.max. BFQ takes the v1 weights unchanged in
// io.bfq.weight; otherwise io.weight gets them converted to its range.
func setIOV2(d cgroupDir, io *specs.LinuxBlockIO) error {
	if err := checkIOV2(io); err != nil {
		return err
	}
	weightFile, convert := "io.weight", blkioToIOWeight
	if d.has("io.bfq.weight") {
		weightFile, convert = "io.bfq.weight", func(w uint16) uint64 { return uint64(w) }
	}
	if isSet(io.Weight) {
		// A bare number sets the default weight in both files.
		if err := d.write(weightFile, utoa(convert(*io.Weight))); err != nil {
			return err
		}
	}
	for _, wd := range io.WeightDevice {
		if wd.Weight == nil {
			continue
		}
		dev, err := blockDevice(wd.LinuxBlockIODevice)
		if err != nil {
			return err
		}
		v := "default"
		if *wd.Weight != 0 {
			v = utoa(convert(*wd.Weight))
		}
		if err := d.write(weightFile, dev+" "+v); err != nil {
			return err
		}
	}
	lines, err := ioMaxLines(io)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := d.write("io.max", l); err != nil {
			return err
		}
	}
	return nil
}

// ioMaxLines gathers the four throttle lists into one io.max line per
// device, "MAJ:MIN rbps=N wiops=N ...", in the order devices first appear.
// A rate of 0, which removes a v1 rule, becomes "max" (no limit).
func ioMaxLines(io *specs.LinuxBlockIO) ([]string, error) {
	var order []string
	keys := make(map[string][]string)
	for _, t := range []struct {
		key     string
		devices []specs.LinuxThrottleDevice
	}{
		{"rbps", io.ThrottleReadBpsDevice},
		{"wbps", io.ThrottleWriteBpsDevice},
		{"riops", io.ThrottleReadIOPSDevice},
		{"wiops", io.ThrottleWriteIOPSDevice},
	} {
		for _, td := range t.devices {
			dev, err := blockDevice(td.LinuxBlockIODevice)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(order, dev) {
				order = append(order, dev)
			}
			v := "max"
			if td.Rate != 0 {
				v = utoa(td.Rate)
			}
			keys[dev] = append(keys[dev], t.key+"="+v)
		}
	}
	lines := make([]string, 0, len(order))
	for _, dev := range order {
		lines = append(lines, dev+" "+strings.Join(keys[dev], " "))
	}
	return lines, nil
}

// blkioToIOWeight maps the v1 weight range [10, 1000] linearly onto
// io.weight's [1, 10000].
func blkioToIOWeight(w uint16) uint64 {
	v := uint64(min(max(w, 10), 1000))
	return 1 + (v-10)*9999/990
}
