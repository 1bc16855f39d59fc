package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setBlkioV1 writes weights and throttles. Weights belong to the IO
// scheduler: CFQ (gone since Linux 5.0) had blkio.weight, leaf weights and
// per-device weights; BFQ has blkio.bfq.weight and, on newer kernels,
// blkio.bfq.weight_device. Without either the write fails naming the
// file. Throttles work with any scheduler.
func setBlkioV1(d cgroupDir, io *specs.LinuxBlockIO) error {
	weightFile, weightDeviceFile := "blkio.weight", "blkio.weight_device"
	if !d.has(weightFile) && d.has("blkio.bfq.weight") {
		weightFile, weightDeviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if isSet(io.Weight) {
		if err := d.write(weightFile, fmt.Sprint(*io.Weight)); err != nil {
			return err
		}
	}
	if isSet(io.LeafWeight) {
		if err := d.write("blkio.leaf_weight", fmt.Sprint(*io.LeafWeight)); err != nil {
			return err
		}
	}
	for _, wd := range io.WeightDevice {
		dev, err := blockDevice(wd.LinuxBlockIODevice)
		if err != nil {
			return err
		}
		// A weight of 0 takes the device's own weight away again.
		if wd.Weight != nil {
			if err := d.write(weightDeviceFile, fmt.Sprintf("%s %d", dev, *wd.Weight)); err != nil {
				return err
			}
		}
		if wd.LeafWeight != nil {
			if err := d.write("blkio.leaf_weight_device", fmt.Sprintf("%s %d", dev, *wd.LeafWeight)); err != nil {
				return err
			}
		}
	}
	for _, t := range []struct {
		file    string
		devices []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", io.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", io.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", io.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", io.ThrottleWriteIOPSDevice},
	} {
		for _, td := range t.devices {
			dev, err := blockDevice(td.LinuxBlockIODevice)
			if err != nil {
				return err
			}
			// One device per write: the kernel parses a single rule each
			// time, and a rate of 0 removes the device's rule.
			if err := d.write(t.file, fmt.Sprintf("%s %d", dev, td.Rate)); err != nil {
				return err
			}
		}
	}
	return nil
}
