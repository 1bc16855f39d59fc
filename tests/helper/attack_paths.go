package main

// Subcommands for the path attack tests (tests/integration/attack_paths_test.go):
// a process in one container that keeps swapping a name in a directory it
// shares with another container's bundle, and probes that report what the
// victim container really got at a path.

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	commands["swap"] = command{"DIR NAME TARGET SECONDS",
		"keep exchanging DIR/NAME with a symlink to TARGET (renameat2 RENAME_EXCHANGE) for SECONDS; print swaps=N", 4, cmdSwap}
	commands["statfs"] = command{"PATH", "print the filesystem type of PATH (proc, tmpfs, ... or its magic)", 1, cmdStatfs}
	commands["console"] = command{"", "print /dev/console's and fd 0's device and whether they are the same", 0, cmdConsole}
}

// swapAlt is the name the symlink goes by while the original is in place.
func swapAlt(name string) string { return name + ".husk-swap" }

// cmdSwap races the runtime: DIR/NAME is, in turn, what it was (a
// directory, a device node...) and a symlink to TARGET, the swap being one
// atomic renameat2(RENAME_EXCHANGE), so that whatever the runtime checked
// at one instant may be the other thing the next. It prints "swapping"
// once it has started, for the test to begin its rounds, and
// "swaps=N repairs=M" at the end.
//
// The victim runtime may remove or replace what is under NAME (an image's
// /dev/null symlink is replaced by a real node): whenever neither name is
// a symlink any more, or one is gone, the symlink is made again, so the
// race keeps its two sides.
func cmdSwap(args []string) error {
	dir, name, target := args[0], args[1], args[2]
	secs, err := strconv.ParseFloat(args[3], 64)
	if err != nil {
		return err
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	alt := swapAlt(name)
	kind := func(n string) (exists, link bool) {
		var st unix.Stat_t
		if unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return false, false
		}
		return true, st.Mode&unix.S_IFMT == unix.S_IFLNK
	}
	// healthy: both names there, exactly one of them the symlink.
	healthy := func() bool {
		nameOK, nameLink := kind(name)
		altOK, altLink := kind(alt)
		return nameOK && altOK && nameLink != altLink
	}
	repair := func() error {
		if ok, _ := kind(name); !ok {
			if ok, _ := kind(alt); ok {
				if err := unix.Renameat(dfd, alt, dfd, name); err != nil {
					return err
				}
			} else if err := unix.Symlinkat(target, dfd, name); err != nil {
				return err
			}
		}
		altOK, altLink := kind(alt)
		if _, nameLink := kind(name); altOK && (nameLink || altLink) {
			return nil // both symlinks: the victim makes the real thing again
		}
		if altOK {
			// Two real things: the one under alt is a stale copy.
			if err := unix.Unlinkat(dfd, alt, 0); errors.Is(err, unix.EISDIR) {
				err = unix.Unlinkat(dfd, alt, unix.AT_REMOVEDIR)
			}
			if err != nil {
				return err
			}
		}
		return unix.Symlinkat(target, dfd, alt)
	}
	if err := repair(); err != nil {
		return fmt.Errorf("make the symlink: %w", err)
	}
	// The lowest priority: the swapping only has to be going on while the
	// victim runtime runs, and must not slow it (and the other tests) down.
	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 19); err != nil {
		return fmt.Errorf("setpriority: %w", err)
	}
	fmt.Println("swapping")
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	swaps, repairs := 0, 0
	for time.Now().Before(deadline) {
		for range 512 {
			if unix.Renameat2(dfd, name, dfd, alt, unix.RENAME_EXCHANGE) == nil {
				swaps++
			}
		}
		// The victim may be changing the names too: a repair that
		// loses a race with it is tried again on the next pass.
		if !healthy() {
			_ = repair()
			repairs++
		}
	}
	fmt.Printf("swaps=%d repairs=%d\n", swaps, repairs)
	return nil
}

var fsNames = map[int64]string{
	unix.PROC_SUPER_MAGIC:      "proc",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.SYSFS_MAGIC:           "sysfs",
	unix.DEVPTS_SUPER_MAGIC:    "devpts",
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.XFS_SUPER_MAGIC:       "xfs",
}

func cmdStatfs(args []string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(args[0], &st); err != nil {
		return fmt.Errorf("statfs %s: %w", args[0], err)
	}
	name, ok := fsNames[int64(st.Type)]
	if !ok {
		name = fmt.Sprintf("%#x", st.Type)
	}
	fmt.Println(name)
	return nil
}

// cmdConsole tells whether /dev/console is the process's terminal: the
// same character device as its stdin.
func cmdConsole([]string) error {
	var c, in unix.Stat_t
	if err := unix.Stat("/dev/console", &c); err != nil {
		return fmt.Errorf("stat /dev/console: %w", err)
	}
	if err := unix.Fstat(0, &in); err != nil {
		return fmt.Errorf("fstat 0: %w", err)
	}
	same := "different"
	if c.Mode&unix.S_IFMT == unix.S_IFCHR && in.Mode&unix.S_IFMT == unix.S_IFCHR && c.Rdev == in.Rdev {
		same = "same"
	}
	fmt.Printf("console=%s:%d:%d stdin=%s:%d:%d %s\n", fileType(c.Mode), unix.Major(c.Rdev), unix.Minor(c.Rdev),
		fileType(in.Mode), unix.Major(in.Rdev), unix.Minor(in.Rdev), same)
	return nil
}
