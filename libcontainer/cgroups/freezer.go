package cgroups

import (
	"errors"
	"fmt"
	"time"
)

// freezeTimeout bounds the wait for every task to stop. Tasks in
// uninterruptible sleep can hold a freeze back indefinitely.
const freezeTimeout = 5 * time.Second

func freezeV1(d cgroupDir) error {
	var last string
	frozen, err := poll(freezeTimeout, func() (bool, error) {
		// Asking again makes the kernel retry tasks that could not be
		// frozen last time; otherwise the cgroup may stay FREEZING.
		if err := d.write("freezer.state", "FROZEN"); err != nil {
			return false, err
		}
		s, err := d.read("freezer.state")
		last = s
		return s == "FROZEN", err
	})
	if err != nil {
		return err
	}
	if !frozen {
		// A half-frozen container is worse than a running one.
		return errors.Join(
			fmt.Errorf("freeze %s: still %s after %v", d.path, last, freezeTimeout),
			thawV1(d))
	}
	return nil
}

func thawV1(d cgroupDir) error {
	return d.write("freezer.state", "THAWED")
}

// pausedV1 counts FREEZING as paused: the kernel goes on freezing after
// a write of FROZEN, so a pause killed half-way still ends frozen, and
// resume must be able to thaw it.
func pausedV1(d cgroupDir) (bool, error) {
	s, err := d.read("freezer.state")
	return s == "FROZEN" || s == "FREEZING", err
}

func freezeV2(d cgroupDir) error {
	if err := d.write("cgroup.freeze", "1"); err != nil {
		return err
	}
	frozen, err := poll(freezeTimeout, func() (bool, error) { return frozenV2(d) })
	if err != nil {
		return err
	}
	if !frozen {
		return errors.Join(
			fmt.Errorf("freeze %s: not frozen after %v", d.path, freezeTimeout),
			thawV2(d))
	}
	return nil
}

// thawV2 returns once the kernel reports the cgroup thawed, so a status
// read right after resume says running.
func thawV2(d cgroupDir) error {
	if err := d.write("cgroup.freeze", "0"); err != nil {
		return err
	}
	thawed, err := poll(freezeTimeout, func() (bool, error) {
		frozen, err := frozenV2(d)
		return !frozen, err
	})
	if err != nil {
		return err
	}
	if !thawed {
		return fmt.Errorf("thaw %s: still frozen after %v", d.path, freezeTimeout)
	}
	return nil
}

// pausedV2 is frozen, or asked to be: the kernel finishes a freeze that
// a killed pause asked for.
func pausedV2(d cgroupDir) (bool, error) {
	if s, err := d.read("cgroup.freeze"); err == nil && s == "1" {
		return true, nil
	}
	return frozenV2(d)
}

// frozenV2 reads the effective state from cgroup.events rather than the
// requested one in cgroup.freeze, so a cgroup frozen through an ancestor,
// or one still freezing, is reported as it really is. Kernels before 5.2
// have no "frozen" key and no v2 freezer, so nothing there is frozen.
func frozenV2(d cgroupDir) (bool, error) {
	p, err := d.file("cgroup.events")
	if err != nil {
		return false, fmt.Errorf("read %w", err)
	}
	events, err := readKeys(p)
	return events["frozen"] == "1", err
}
