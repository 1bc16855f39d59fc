package vocab

import (
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	const atime = unix.MOUNT_ATTR__ATIME
	for _, tc := range []struct {
		name string
		opts []string
		want MountOptions
	}{
		{"none", nil, MountOptions{}},
		{"defaults only", []string{"defaults"}, MountOptions{}},
		{"tmpfs with data", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}, MountOptions{
			Flags: unix.MS_NOSUID | unix.MS_STRICTATIME,
			Data:  "mode=755,size=65536k",
		}},
		{"data order kept", []string{"gid=5", "nosuid", "mode=0620", "ptmxmode=0666", "newinstance"}, MountOptions{
			Flags: unix.MS_NOSUID,
			Data:  "gid=5,mode=0620,ptmxmode=0666,newinstance",
		}},
		{"tmpcopyup", []string{"mode=755", "tmpcopyup", "size=1m"}, MountOptions{Data: "mode=755,size=1m", TmpCopyUp: true}},
		{"set flags", []string{"ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "dirsync", "sync", "mand", "iversion", "lazytime", "silent", "relatime", "nosymfollow", "remount"}, MountOptions{
			Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_DIRSYNC | unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK |
				unix.MS_I_VERSION | unix.MS_LAZYTIME | unix.MS_SILENT | unix.MS_RELATIME |
				unix.MS_NOSYMFOLLOW | unix.MS_REMOUNT,
		}},
		{"clear flags", []string{"rw", "suid", "dev", "exec", "atime", "diratime", "async", "nomand", "noiversion", "nolazytime", "loud", "norelatime", "nostrictatime", "symfollow"}, MountOptions{
			ClearFlags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK | unix.MS_I_VERSION |
				unix.MS_LAZYTIME | unix.MS_SILENT | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NOSYMFOLLOW,
		}},
		{"later option wins", []string{"ro", "nosuid", "rw", "suid", "nosuid"}, MountOptions{
			Flags:      unix.MS_NOSUID,
			ClearFlags: unix.MS_RDONLY,
		}},
		{"bind", []string{"bind", "ro"}, MountOptions{
			Flags: unix.MS_BIND | unix.MS_RDONLY,
			Bind:  true,
		}},
		{"rbind", []string{"rbind", "nosuid"}, MountOptions{
			Flags:     unix.MS_BIND | unix.MS_REC | unix.MS_NOSUID,
			Bind:      true,
			Recursive: true,
		}},
		{"propagation in order", []string{"rprivate", "shared", "rslave", "unbindable", "private", "rshared", "slave", "runbindable"}, MountOptions{
			PropagationFlags: []uintptr{
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE,
				unix.MS_PRIVATE, unix.MS_SHARED | unix.MS_REC, unix.MS_SLAVE, unix.MS_UNBINDABLE | unix.MS_REC,
			},
		}},
		{"recursive attrs set", []string{"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"}, MountOptions{
			Flags:     unix.MS_BIND | unix.MS_REC,
			Bind:      true,
			Recursive: true,
			RecAttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW,
		}},
		{"recursive attrs cleared", []string{"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"}, MountOptions{
			RecAttrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW,
		}},
		{"recursive attr later wins", []string{"rro", "rrw", "rnoexec"}, MountOptions{
			RecAttrSet: unix.MOUNT_ATTR_NOEXEC,
			RecAttrClr: unix.MOUNT_ATTR_RDONLY,
		}},
		{"rnoatime", []string{"rnoatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_NOATIME, RecAttrClr: atime}},
		{"rstrictatime", []string{"rstrictatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_STRICTATIME, RecAttrClr: atime}},
		{"rrelatime", []string{"rrelatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_RELATIME, RecAttrClr: atime}},
		{"rnorelatime", []string{"rnorelatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_STRICTATIME, RecAttrClr: atime}},
		{"ratime undoes rnoatime", []string{"rnoatime", "rnodev", "ratime"}, MountOptions{
			RecAttrSet: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_RELATIME,
			RecAttrClr: atime,
		}},
		{"rnostrictatime undoes rstrictatime", []string{"rstrictatime", "rnostrictatime"}, MountOptions{
			RecAttrSet: unix.MOUNT_ATTR_RELATIME,
			RecAttrClr: atime,
		}},
		{"atime modes replace each other", []string{"rstrictatime", "rnoatime"}, MountOptions{
			RecAttrSet: unix.MOUNT_ATTR_NOATIME,
			RecAttrClr: atime,
		}},
		{"mixed", []string{"rbind", "ro", "rro", "rprivate", "x-husk=1", "nosuid", "context=\"system_u:object_r:container_file_t:s0\""}, MountOptions{
			Flags:            unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID,
			PropagationFlags: []uintptr{unix.MS_PRIVATE | unix.MS_REC},
			RecAttrSet:       unix.MOUNT_ATTR_RDONLY,
			Data:             "x-husk=1,context=\"system_u:object_r:container_file_t:s0\"",
			Bind:             true,
			Recursive:        true,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseMountOptions(tc.opts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseMountOptions(%q) =\n %+v\nwant\n %+v", tc.opts, got, tc.want)
			}
		})
	}
}

// The kernel rejects a mount_setattr whose attr_clr holds only part of the
// atime field or whose attr_set names an atime mode without clearing it.
func TestRecursiveAtimeAttrsAreKernelValid(t *testing.T) {
	for name := range mountOptionTable {
		m := ParseMountOptions([]string{name})
		clr := m.RecAttrClr & unix.MOUNT_ATTR__ATIME
		if clr != 0 && clr != unix.MOUNT_ATTR__ATIME {
			t.Errorf("%s: attr_clr has partial atime bits %#x", name, clr)
		}
		if m.RecAttrSet&unix.MOUNT_ATTR__ATIME != 0 && clr == 0 {
			t.Errorf("%s: attr_set has atime bits without clearing the field", name)
		}
	}
}

func TestKnownMountOptions(t *testing.T) {
	names := KnownMountOptions()
	if !slices.IsSorted(names) {
		t.Errorf("not sorted: %q", names)
	}
	want := []string{
		"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
		"lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
		"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
		"rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw",
		"shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync", "unbindable",
		"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnoatime", "ratime",
		"rrelatime", "rnorelatime", "rnodiratime", "rdiratime", "rstrictatime", "rnostrictatime",
		"rnosymfollow", "rsymfollow", "idmap", "ridmap", "tmpcopyup",
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("KnownMountOptions() =\n %q\nwant\n %q", names, want)
	}
	for _, name := range names {
		if m := ParseMountOptions([]string{name}); m.Data != "" {
			t.Errorf("%s is listed as known but parsed as data", name)
		}
	}
}
