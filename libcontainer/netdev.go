package libcontainer

import (
	"fmt"
	"strconv"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// moveNetDevices moves the host interfaces of linux.netDevices into the
// network namespace of the container's init (pid), renames them, restores
// their permanent global addresses (a move drops them) and sets them up,
// as runtime-spec 1.3 asks. They are not moved back: the kernel returns
// physical devices when the namespace dies and deletes virtual ones.
func moveNetDevices(devs map[string]specs.LinuxNetDevice, pid int) error {
	if len(devs) == 0 {
		return nil
	}
	ns, err := netns.GetFromPath("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return fmt.Errorf("linux.netDevices: container network namespace: %w", err)
	}
	defer ns.Close()
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("linux.netDevices: netlink in the container: %w", err)
	}
	defer inside.Close()
	for hostName, d := range devs {
		if err := moveNetDevice(inside, ns, hostName, d.Name); err != nil {
			return fmt.Errorf("linux.netDevices[%q]: %w", hostName, err)
		}
	}
	return nil
}

func moveNetDevice(inside *netlink.Handle, ns netns.NsHandle, hostName, name string) error {
	link, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("find %s on the host: %w", hostName, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	if name == "" {
		name = hostName
	}
	// A name taken in the container is an error, so the move never
	// happens under a name the kernel would have to change.
	if name != hostName {
		if _, err := inside.LinkByName(name); err == nil {
			return fmt.Errorf("an interface named %s already exists in the container", name)
		}
	}
	if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
		return fmt.Errorf("move into the container: %w", err)
	}
	moved, err := inside.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("find it in the container: %w", err)
	}
	if name != hostName {
		if err := inside.LinkSetName(moved, name); err != nil {
			return fmt.Errorf("rename to %s: %w", name, err)
		}
	}
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_PERMANENT == 0 || a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		a.Label = ""
		if err := inside.AddrAdd(moved, &a); err != nil {
			return fmt.Errorf("restore address %s: %w", a.IPNet, err)
		}
	}
	if err := inside.LinkSetUp(moved); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}
