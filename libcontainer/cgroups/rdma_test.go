package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRdmaLine(t *testing.T) {
	for _, tc := range []struct {
		dev  string
		l    specs.LinuxRdma
		want string
	}{
		{"mlx5_1", specs.LinuxRdma{HcaHandles: new(uint32(3)), HcaObjects: new(uint32(10000))}, "mlx5_1 hca_handle=3 hca_object=10000"},
		{"mlx4_0", specs.LinuxRdma{HcaObjects: new(uint32(1000))}, "mlx4_0 hca_object=1000"},
		{"rxe3", specs.LinuxRdma{HcaHandles: new(uint32(0))}, "rxe3 hca_handle=0"},
	} {
		got, err := rdmaLine(tc.dev, tc.l)
		if err != nil || got != tc.want {
			t.Errorf("rdmaLine(%s) = %q, %v; want %q", tc.dev, got, err, tc.want)
		}
	}
	for dev, l := range map[string]specs.LinuxRdma{
		"mlx5_1":     {},
		"":           {HcaHandles: new(uint32(1))},
		"a b":        {HcaHandles: new(uint32(1))},
		"x=1":        {HcaHandles: new(uint32(1))},
		"mlx5_1\nx2": {HcaHandles: new(uint32(1))},
	} {
		if got, err := rdmaLine(dev, l); err == nil {
			t.Errorf("rdmaLine(%q, %+v) = %q, want an error", dev, l, got)
		}
	}
}

func TestSetRdma(t *testing.T) {
	rdma := map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: new(uint32(3))}}
	for _, key := range []string{"rdma", ""} {
		dir := fakeDir(t, map[string]string{"rdma.max": ""})
		if err := Load(map[string]string{key: dir}).Set(&specs.LinuxResources{Rdma: rdma}); err != nil {
			t.Fatal(err)
		}
		expectFiles(t, dir, map[string]string{"rdma.max": "mlx5_1 hca_handle=3"})
	}
	err := Load(map[string]string{"memory": fakeDir(t, nil)}).Set(&specs.LinuxResources{Rdma: rdma})
	if err == nil || !strings.Contains(err.Error(), "no rdma cgroup hierarchy") {
		t.Errorf("v1 without rdma: err = %v", err)
	}
}
