package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func blockDev(major, minor int64) specs.LinuxBlockIODevice {
	return specs.LinuxBlockIODevice{Major: major, Minor: minor}
}

func throttle(major, minor int64, rate uint64) []specs.LinuxThrottleDevice {
	return []specs.LinuxThrottleDevice{{LinuxBlockIODevice: blockDev(major, minor), Rate: rate}}
}

func TestSetBlkioV1CFQ(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"blkio.weight": "", "blkio.leaf_weight": "", "blkio.weight_device": "", "blkio.leaf_weight_device": "",
		"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
		"blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
	})
	m := Load(map[string]string{"blkio": dir})
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight: new(uint16(300)), LeafWeight: new(uint16(200)),
		WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: blockDev(8, 0), Weight: new(uint16(500)), LeafWeight: new(uint16(400))},
		},
		ThrottleReadBpsDevice:   throttle(8, 0, 1<<20),
		ThrottleWriteBpsDevice:  throttle(8, 16, 2<<20),
		ThrottleReadIOPSDevice:  throttle(8, 0, 100),
		ThrottleWriteIOPSDevice: throttle(8, 0, 0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{
		"blkio.weight": "300", "blkio.leaf_weight": "200",
		"blkio.weight_device": "8:0 500", "blkio.leaf_weight_device": "8:0 400",
		"blkio.throttle.read_bps_device": "8:0 1048576", "blkio.throttle.write_bps_device": "8:16 2097152",
		"blkio.throttle.read_iops_device": "8:0 100", "blkio.throttle.write_iops_device": "8:0 0",
	})
}

func TestSetBlkioV1BFQ(t *testing.T) {
	dir := fakeDir(t, map[string]string{"blkio.bfq.weight": "", "blkio.bfq.weight_device": ""})
	m := Load(map[string]string{"blkio": dir})
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight:       new(uint16(300)),
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blockDev(8, 0), Weight: new(uint16(50))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"blkio.bfq.weight": "300", "blkio.bfq.weight_device": "8:0 50"})
}

// Without a weight-based scheduler there is no weight file; the error
// names the file asked for.
func TestSetBlkioV1NoScheduler(t *testing.T) {
	dir := fakeDir(t, nil)
	err := Load(map[string]string{"blkio": dir}).Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: new(uint16(300))}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "blkio.weight")) {
		t.Errorf("err = %v, want it to name blkio.weight", err)
	}
	err = Load(map[string]string{"blkio": dir}).Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		ThrottleReadBpsDevice: throttle(-1, 0, 5),
	}})
	if err == nil || !strings.Contains(err.Error(), "invalid block device") {
		t.Errorf("negative major: err = %v", err)
	}
}

func TestSetIOV2(t *testing.T) {
	dir := fakeDir(t, map[string]string{"io.weight": "default 100", "io.max": ""})
	m := Load(map[string]string{"": dir})
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight:                new(uint16(1000)),
		ThrottleReadBpsDevice: throttle(8, 0, 1<<20),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"io.weight": "10000", "io.max": "8:0 rbps=1048576"})

	err = m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blockDev(8, 16), Weight: new(uint16(10))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"io.weight": "8:16 1"})
}

func TestSetIOV2BFQ(t *testing.T) {
	dir := fakeDir(t, map[string]string{"io.bfq.weight": "default 100", "io.weight": "default 100"})
	m := Load(map[string]string{"": dir})
	if err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: new(uint16(300))}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"io.bfq.weight": "300", "io.weight": "default 100"})
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blockDev(8, 0), Weight: new(uint16(0))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"io.bfq.weight": "8:0 default"})
}

func TestIOV2LeafWeightRefused(t *testing.T) {
	for _, io := range []*specs.LinuxBlockIO{
		{Weight: new(uint16(100)), LeafWeight: new(uint16(100))},
		{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blockDev(8, 0), LeafWeight: new(uint16(100))}}},
	} {
		dir := fakeDir(t, nil)
		err := Load(map[string]string{"": dir}).Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(1))}, BlockIO: io})
		if err == nil || !strings.Contains(err.Error(), "leafWeight") {
			t.Errorf("%+v: err = %v", io, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("files written: %v", entries)
		}
	}
}

func TestIOMaxLines(t *testing.T) {
	got, err := ioMaxLines(&specs.LinuxBlockIO{
		ThrottleReadBpsDevice:   append(throttle(8, 0, 100), throttle(8, 16, 300)...),
		ThrottleWriteBpsDevice:  throttle(8, 16, 0),
		ThrottleReadIOPSDevice:  throttle(259, 0, 10),
		ThrottleWriteIOPSDevice: throttle(8, 0, 20),
	})
	want := []string{"8:0 rbps=100 wiops=20", "8:16 rbps=300 wbps=max", "259:0 riops=10"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ioMaxLines = %q, %v; want %q", got, err, want)
	}
}

func TestBlkioToIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{0: 1, 10: 1, 100: 910, 500: 4950, 1000: 10000, 5000: 10000} {
		if got := blkioToIOWeight(w); got != want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}
