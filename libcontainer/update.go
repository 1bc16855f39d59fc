package libcontainer

import (
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Update writes r to the container's cgroup and merges it into the saved
// spec, so that later commands, and later updates, see the limits in force.
// Fields left nil are left alone.
//
// Device rules are ignored, as runc does: rewriting the device list of a
// live container would deny its devices for a moment, and clients such as
// containerd send the container's whole resources, devices included, with
// each update.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	return r.withLock(id, false, func(c *Container) error { return c.update(res) })
}

func (c *Container) update(r *specs.LinuxResources) error {
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	if r == nil {
		return nil
	}
	if c.State.CgroupPaths == nil {
		return c.errNoCgroup("update")
	}
	s, err := c.State.Spec()
	if err != nil {
		return err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	saved := s.Linux.Resources
	delta := *r
	delta.Devices = nil
	if r.Memory != nil {
		m := *r.Memory
		// Lifting the memory limit alone would leave memory+swap at its
		// old value, below the new limit, which v1 refuses; runc lifts
		// both in this case, and so does husk.
		if m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
			m.Swap = new(int64(-1))
		}
		if m.CheckBeforeUpdate == nil && saved.Memory != nil {
			m.CheckBeforeUpdate = saved.Memory.CheckBeforeUpdate
		}
		delta.Memory = &m
	}
	if err := c.cgroup().Set(&delta); err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	mergeResources(saved, &delta)
	return c.State.save(c.dir)
}

// mergeResources copies into dst every field r sets, the way Set applies
// them: pointers and non-empty strings replace, per-device and per-key
// entries replace the entry with the same key or are added.
func mergeResources(dst, r *specs.LinuxResources) {
	if r.Memory != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		mergeMemory(dst.Memory, r.Memory)
	}
	if r.CPU != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		mergeCPU(dst.CPU, r.CPU)
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		dst.Pids = &specs.LinuxPids{Limit: r.Pids.Limit}
	}
	if r.BlockIO != nil {
		if dst.BlockIO == nil {
			dst.BlockIO = &specs.LinuxBlockIO{}
		}
		mergeBlockIO(dst.BlockIO, r.BlockIO)
	}
	for _, h := range r.HugepageLimits {
		dst.HugepageLimits = upsert(dst.HugepageLimits, h, func(a, b specs.LinuxHugepageLimit) bool { return a.Pagesize == b.Pagesize })
	}
	if r.Network != nil {
		if dst.Network == nil {
			dst.Network = &specs.LinuxNetwork{}
		}
		set(&dst.Network.ClassID, r.Network.ClassID)
		for _, p := range r.Network.Priorities {
			dst.Network.Priorities = upsert(dst.Network.Priorities, p, func(a, b specs.LinuxInterfacePriority) bool { return a.Name == b.Name })
		}
	}
	for dev, l := range r.Rdma {
		if dst.Rdma == nil {
			dst.Rdma = make(map[string]specs.LinuxRdma)
		}
		cur := dst.Rdma[dev]
		set(&cur.HcaHandles, l.HcaHandles)
		set(&cur.HcaObjects, l.HcaObjects)
		dst.Rdma[dev] = cur
	}
	for k, v := range r.Unified {
		if dst.Unified == nil {
			dst.Unified = make(map[string]string)
		}
		dst.Unified[k] = v
	}
}

func mergeMemory(dst, m *specs.LinuxMemory) {
	set(&dst.Limit, m.Limit)
	set(&dst.Reservation, m.Reservation)
	set(&dst.Swap, m.Swap)
	set(&dst.Kernel, m.Kernel)
	set(&dst.KernelTCP, m.KernelTCP)
	set(&dst.Swappiness, m.Swappiness)
	set(&dst.DisableOOMKiller, m.DisableOOMKiller)
	set(&dst.UseHierarchy, m.UseHierarchy)
	set(&dst.CheckBeforeUpdate, m.CheckBeforeUpdate)
}

func mergeCPU(dst, c *specs.LinuxCPU) {
	set(&dst.Shares, c.Shares)
	set(&dst.Quota, c.Quota)
	set(&dst.Burst, c.Burst)
	set(&dst.Period, c.Period)
	set(&dst.RealtimeRuntime, c.RealtimeRuntime)
	set(&dst.RealtimePeriod, c.RealtimePeriod)
	set(&dst.Idle, c.Idle)
	if c.Cpus != "" {
		dst.Cpus = c.Cpus
	}
	if c.Mems != "" {
		dst.Mems = c.Mems
	}
}

func mergeBlockIO(dst, b *specs.LinuxBlockIO) {
	set(&dst.Weight, b.Weight)
	set(&dst.LeafWeight, b.LeafWeight)
	for _, w := range b.WeightDevice {
		i := slices.IndexFunc(dst.WeightDevice, func(e specs.LinuxWeightDevice) bool {
			return e.LinuxBlockIODevice == w.LinuxBlockIODevice
		})
		if i < 0 {
			dst.WeightDevice = append(dst.WeightDevice, w)
			continue
		}
		set(&dst.WeightDevice[i].Weight, w.Weight)
		set(&dst.WeightDevice[i].LeafWeight, w.LeafWeight)
	}
	sameDevice := func(a, b specs.LinuxThrottleDevice) bool { return a.LinuxBlockIODevice == b.LinuxBlockIODevice }
	for _, l := range []struct {
		dst *[]specs.LinuxThrottleDevice
		src []specs.LinuxThrottleDevice
	}{
		{&dst.ThrottleReadBpsDevice, b.ThrottleReadBpsDevice},
		{&dst.ThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice},
		{&dst.ThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice},
		{&dst.ThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice},
	} {
		for _, t := range l.src {
			*l.dst = upsert(*l.dst, t, sameDevice)
		}
	}
}

// set replaces *dst when v is set.
func set[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

// upsert replaces the entry of list that same matches with v, or appends v.
func upsert[T any](list []T, v T, same func(a, b T) bool) []T {
	if i := slices.IndexFunc(list, func(e T) bool { return same(e, v) }); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}
